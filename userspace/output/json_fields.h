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
// the program's own (never escaped).
//
// It writes through a cursor into room it takes at the end of `out` (one resize per object,
// not a std::string append per key and value: those appends were most of a JSON line's cost),
// and gives back what it did not use when finished. So while one is alive, nothing else may
// append to `out`: the caller's brackets go through text(), a nested object through a
// JsonFields made from this one, and finish() (or the destructor) comes before `out` is used
// again. No string_view handed to it may point into `out`: taking room may move its bytes.
class JsonFields {
 public:
  // first=false when fields were already written into this object.
  explicit JsonFields(std::string& out, bool first = true) : out_(&out), first_(first) {}
  // The fields of an object nested in parent's output (its `"k":{` written with parent.text());
  // parent is not used again until this one is finished.
  explicit JsonFields(JsonFields& parent) : out_(parent.out_), cur_(parent.cur_), end_(parent.end_), parent_(&parent) {}
  JsonFields(const JsonFields&) = delete;
  JsonFields& operator=(const JsonFields&) = delete;
  ~JsonFields() { finish(); }

  // `out` (or the parent) holds exactly what was written; the caller may append again.
  void finish();

  // Bytes written as they are, no key: the caller's brackets and commas, a prepared fragment.
  void text(std::string_view t) { put(room(t.size()), t); }
  // `"<k><suffix>":`, after a comma unless first.
  void key(std::string_view k, std::string_view suffix = {});
  void str(std::string_view k, std::string_view v) {
    key(k);
    string(v);
  }
  template <class T>
  [[gnu::always_inline]] void num(std::string_view k, T v) {
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      fmt::format_int f(v);  // no format string to parse: a third of an integer's cost
      field(k, {f.data(), f.size()}, false);
    } else {
      fmt::memory_buffer buf;  // whole, however long (not nlohmann's format for doubles: raw() is)
      fmt::format_to(std::back_inserter(buf), "{}", v);
      field(k, {buf.data(), buf.size()}, false);
    }
  }
  // (The one-field writers are inlined: with a literal key, its copy is a few fixed-size moves.)
  // A string the program made that needs no escaping by construction (names of its own,
  // digits, hex): written without the scan. Never for anything read from the system.
  [[gnu::always_inline]] void plain(std::string_view k, std::string_view v) { field(k, v, true); }
  [[gnu::always_inline]] void null(std::string_view k) { field(k, "null", false); }
  [[gnu::always_inline]] void boolean(std::string_view k, bool v) { field(k, v ? "true" : "false", false); }
  void names(std::string_view k, const std::vector<std::string>& v) {
    key(k);
    strings(v);
  }
  [[gnu::always_inline]] void raw(std::string_view k, std::string_view json_text) { field(k, json_text, false); }
  // Whole fields written before (`"a":1,"b":2`, by a JsonFields on another string), after a
  // comma unless first: a prepared run of fields that repeats from object to object.
  void fields(std::string_view json_fields) {
    if (json_fields.empty()) return;
    char* p = room(json_fields.size() + 1);
    if (!first_) *p++ = ',';
    first_ = false;
    put(p, json_fields);
  }
  // What put_path puts: the name made valid UTF-8, and its exact bytes as "<k>_b64" when it was
  // not valid UTF-8.
  void path(std::string_view k, std::string_view v);
  // A string value, quoted and escaped, with no key (an array's element).
  void string(std::string_view v);
  // ["a","b",...], with no key.
  void strings(const std::vector<std::string>& v);

 private:
  static constexpr size_t kRoom = 512;  // taken at a time: a whole event line, most often

  // `,"<k>":<v>` or `,"<k>":"<v>"`. Inlined, so that a literal key's copy is a fixed-size move.
  [[gnu::always_inline]] void field(std::string_view k, std::string_view v, bool quoted) {
    char* p = room(k.size() + v.size() + 6);
    p = put_key(p, k, {});
    if (quoted) *p++ = '"';
    p = copy(p, v);
    if (quoted) *p++ = '"';
    cur_ = p;
  }
  [[gnu::always_inline]] char* put_key(char* p, std::string_view k, std::string_view suffix) {
    if (!first_) *p++ = ',';
    first_ = false;
    *p++ = '"';
    p = copy(p, k);
    p = copy(p, suffix);
    *p++ = '"', *p++ = ':';
    return p;
  }
  static char* copy(char* p, std::string_view s) {
    if (!s.empty()) std::memcpy(p, s.data(), s.size());  // data() may be null when empty
    return p + s.size();
  }
  void put(char* p, std::string_view s) { cur_ = copy(p, s); }
  // The cursor, with at least n bytes of room after it.
  char* room(size_t n) {
    if (static_cast<size_t>(end_ - cur_) < n) grow(n);
    return cur_;
  }
  void grow(size_t n);

  std::string* out_;
  char* cur_ = nullptr;  // null: no room taken yet (out_->size() is where writing starts)
  char* end_ = nullptr;
  JsonFields* parent_ = nullptr;  // a nested object's: whose cursor this one goes on with
  bool first_ = true;
};

}  // namespace inotrace
