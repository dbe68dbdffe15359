// JSON text written directly, byte for byte what nlohmann's compact dump() writes for the same
// values (unit tests hold them equal). For the per-row paths (`trace --json` events, the watches
// of `snapshot --json` and /api/watches), where building a document per row cost most of the time.
#pragma once

#include <fmt/format.h>

#include <iterator>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace inotrace {

// Appends v as a JSON string. v must be valid UTF-8 (JsonFields::path makes names so).
void append_json_string(std::string& out, std::string_view v);
// Appends ["a","b",...].
void append_json_names(std::string& out, const std::vector<std::string>& names);

// The fields of one object, appended to `out` with a comma before each but the first. Keys are
// the program's own (never escaped). The braces are the caller's.
class JsonFields {
 public:
  // first=false when fields were already written into this object.
  explicit JsonFields(std::string& out, bool first = true) : out_(out), first_(first) {}

  // `"<k><suffix>":`, after a comma unless first.
  void key(std::string_view k, std::string_view suffix = {});
  void str(std::string_view k, std::string_view v) { key(k), append_json_string(out_, v); }
  template <class T>
  void num(std::string_view k, T v) {
    key(k);
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      fmt::format_int f(v);  // no format string to parse: a third of an integer's cost
      out_.append(f.data(), f.size());
    } else {
      fmt::format_to(std::back_inserter(out_), "{}", v);
    }
  }
  // A string the program made that needs no escaping by construction (names of its own,
  // digits, hex): written without the scan. Never for anything read from the system.
  void plain(std::string_view k, std::string_view v) {
    key(k);
    ((out_ += '"') += v) += '"';
  }
  void null(std::string_view k) { key(k), out_ += "null"; }
  void boolean(std::string_view k, bool v) { key(k), out_ += v ? "true" : "false"; }
  void names(std::string_view k, const std::vector<std::string>& v) { key(k), append_json_names(out_, v); }
  void raw(std::string_view k, std::string_view json_text) { key(k), out_ += json_text; }
  // What put_path puts: the name made valid UTF-8, and its exact bytes as "<k>_b64" when it was
  // not valid UTF-8.
  void path(std::string_view k, std::string_view v);

 private:
  std::string& out_;
  bool first_;
};

}  // namespace inotrace
