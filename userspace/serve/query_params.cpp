#include "serve/query_params.h"

#include <fmt/format.h>

#include "util/error.h"

namespace inotrace {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%') {
      int hi = i + 2 < s.size() ? hex_value(s[i + 1]) : -1, lo = i + 2 < s.size() ? hex_value(s[i + 2]) : -1;
      if (hi < 0 || lo < 0) throw Error("bad percent-encoding in the query");
      out += (char)(hi * 16 + lo);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::map<std::string, std::string> parse_query(const char* qs) {
  std::map<std::string, std::string> out;
  if (!qs || !*qs) return out;
  std::string_view s(qs);
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t amp = s.find('&', pos);
    std::string_view kv = s.substr(pos, amp == std::string_view::npos ? std::string_view::npos : amp - pos);
    if (!kv.empty()) {
      size_t eq = kv.find('=');
      std::string k = percent_decode(kv.substr(0, eq));
      std::string v = eq == std::string_view::npos ? "" : percent_decode(kv.substr(eq + 1));
      if (!out.emplace(k, v).second) throw Error(fmt::format("parameter {} given twice", k));
    }
    if (amp == std::string_view::npos) break;
    pos = amp + 1;
  }
  return out;
}

}  // namespace inotrace
