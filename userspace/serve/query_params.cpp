#include "serve/query_params.h"

#include <civetweb.h>

#include <vector>

namespace inotrace {

std::map<std::string, std::string> parse_query(const char* qs) {
  std::map<std::string, std::string> out;
  if (!qs) return out;
  std::string s(qs);
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t amp = s.find('&', pos);
    std::string kv = s.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    size_t eq = kv.find('=');
    std::string k = kv.substr(0, eq), v = eq == std::string::npos ? "" : kv.substr(eq + 1);
    std::vector<char> dk(k.size() + 1), dv(v.size() + 1);
    mg_url_decode(k.c_str(), (int)k.size(), dk.data(), (int)dk.size(), 1);
    mg_url_decode(v.c_str(), (int)v.size(), dv.data(), (int)dv.size(), 1);
    if (!k.empty()) out[dk.data()] = dv.data();
    if (amp == std::string::npos) break;
    pos = amp + 1;
  }
  return out;
}

}  // namespace inotrace
