// The query string of an HTTP request (client input) -> decoded key/value pairs.
#pragma once

#include <map>
#include <string>

namespace inotrace {

// "a=1&b=x%20y" -> {a: "1", b: "x y"} (URL-decoded, '+' as space). Empty pairs are skipped, a key
// without '=' maps to "". Throws inotrace::Error on bad percent-encoding or a repeated key (the
// client gets 400). qs may be null.
std::map<std::string, std::string> parse_query(const char* qs);

}  // namespace inotrace
