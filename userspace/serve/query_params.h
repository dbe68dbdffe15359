// The query string of an HTTP request (client input) -> decoded key/value pairs.
#pragma once

#include <map>
#include <string>

namespace inotrace {

// "a=1&b=x%20y" -> {a: "1", b: "x y"} (URL-decoded, '+' as space). Pairs with an empty key are
// dropped, a key without '=' maps to "", a repeated key keeps its last value. qs may be null.
std::map<std::string, std::string> parse_query(const char* qs);

}  // namespace inotrace
