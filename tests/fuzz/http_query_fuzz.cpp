// The query string of an HTTP request to the daemon: any client on the listening address sends it.
#include <string>

#include "fuzz_check.h"
#include "serve/query_params.h"
#include "util/error.h"

using namespace inotrace;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string qs(reinterpret_cast<const char*>(data), size);  // civetweb hands a C string
  qs = qs.substr(0, qs.find('\0'));
  std::map<std::string, std::string> q;
  try {
    q = parse_query(qs.c_str());
  } catch (const Error&) {
    return 0;  // a refused query (answered 400) is fine; any other exception is a crash
  }
  size_t pairs = 1;
  for (char c : qs) pairs += c == '&';
  FUZZ_CHECK(q.size() <= pairs);
  for (const auto& [k, v] : q) {
    FUZZ_CHECK(k.size() <= qs.size() && v.size() <= qs.size());  // decoding never grows
  }
  return 0;
}
