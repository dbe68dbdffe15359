// The JSON escaping property shared by the json_escape and decode targets (docs/JSON.md):
// every document parses as JSON; a byte string that is valid UTF-8 comes back byte for byte;
// one that is not comes back with each invalid byte as U+FFFD (sanitize_utf8) and its exact
// bytes under "<key>_b64", so the original is always recoverable exactly.
#pragma once

#include <absl/strings/escaping.h>

#include <nlohmann/json.hpp>
#include <string>

#include "fuzz_check.h"
#include "util/text_encoding.h"

namespace inotrace {

inline void check_json_string(const nlohmann::ordered_json& obj, const std::string& key, const std::string& original) {
  FUZZ_CHECK(obj.contains(key) && obj[key].is_string());
  const std::string& shown = obj[key].get_ref<const std::string&>();
  if (is_valid_utf8(original)) {
    FUZZ_CHECK(shown == original);
    FUZZ_CHECK(!obj.contains(key + "_b64"));
  } else {
    FUZZ_CHECK(shown == sanitize_utf8(original));
    FUZZ_CHECK(obj.contains(key + "_b64") && obj[key + "_b64"].is_string());
    std::string exact;
    FUZZ_CHECK(absl::Base64Unescape(obj[key + "_b64"].get<std::string>(), &exact));
    FUZZ_CHECK(exact == original);
  }
}

}  // namespace inotrace
