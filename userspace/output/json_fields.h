// JSON text written directly, byte for byte what nlohmann's compact dump() writes for the same
// values (unit tests hold them equal). For the per-row paths (`trace --json` events, the watches
// of `snapshot --json` and /api/watches), where building a document per row cost most of the time.
#pragma once

#include <fmt/format.h>

#include <cstring>
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
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      fmt::format_int f(v);  // no format string to parse: a third of an integer's cost
      field(k, {f.data(), f.size()}, false);
    } else {
      key(k);
      fmt::format_to(std::back_inserter(out_), "{}", v);
    }
  }
  // A string the program made that needs no escaping by construction (names of its own,
  // digits, hex): written without the scan. Never for anything read from the system.
  void plain(std::string_view k, std::string_view v) { field(k, v, true); }
  void null(std::string_view k) { key(k), out_ += "null"; }
  void boolean(std::string_view k, bool v) { key(k), out_ += v ? "true" : "false"; }
  void names(std::string_view k, const std::vector<std::string>& v) { key(k), append_json_names(out_, v); }
  void raw(std::string_view k, std::string_view json_text) { key(k), out_ += json_text; }
  // What put_path puts: the name made valid UTF-8, and its exact bytes as "<k>_b64" when it was
  // not valid UTF-8.
  void path(std::string_view k, std::string_view v);

 private:
  // `,"<k>":<v>` or `,"<k>":"<v>"` in one append: the separate appends of the key, the quotes
  // and the value were the largest part of a line's cost.
  // Inline, so that a literal key's copy is a fixed-size move instead of a call to memcpy.
  void field(std::string_view k, std::string_view v, bool quoted);
  size_t put_key(char* buf, std::string_view k, std::string_view suffix);

  std::string& out_;
  bool first_;
};

// Writes `,"<k><suffix>":` (no comma when first) into buf, which holds at least
// k.size() + suffix.size() + 4 bytes; returns its length.
inline size_t JsonFields::put_key(char* buf, std::string_view k, std::string_view suffix) {
  size_t n = 0;
  if (!first_) buf[n++] = ',';
  first_ = false;
  buf[n++] = '"';
  if (!k.empty()) std::memcpy(buf + n, k.data(), k.size()), n += k.size();
  if (!suffix.empty()) std::memcpy(buf + n, suffix.data(), suffix.size()), n += suffix.size();  // data() may be null
  buf[n++] = '"', buf[n++] = ':';
  return n;
}

inline void JsonFields::field(std::string_view k, std::string_view v, bool quoted) {
  char buf[128];
  if (k.size() + v.size() + 6 > sizeof buf) {
    key(k);
    if (quoted) out_ += '"';
    out_ += v;
    if (quoted) out_ += '"';
    return;
  }
  size_t n = put_key(buf, k, {});
  if (quoted) buf[n++] = '"';
  if (!v.empty()) std::memcpy(buf + n, v.data(), v.size()), n += v.size();
  if (quoted) buf[n++] = '"';
  out_.append(buf, n);
}

}  // namespace inotrace
