#include "output/json_fields.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

#include "util/byte_scan.h"
#include "util/text_encoding.h"

namespace inotrace {

namespace {

// The escape nlohmann's dump() writes for a byte of a string, or nullptr when it writes the byte
// itself (everything from 0x20 on but '"' and '\\': no ensure_ascii, so UTF-8 passes as it is).
const char* escape_of(unsigned char c) {
  static constexpr const char* kShort[0x20] = {
      nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, "\\b", "\\t", "\\n", nullptr, "\\f",
      "\\r",   nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
      nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};
  if (c == '"') return "\\\"";
  if (c == '\\') return "\\\\";
  return c < 0x20 ? kShort[c] : nullptr;
}

// One table load per byte instead of three compares: the scan is most of a string's cost.
constexpr std::array<bool, 256> kNeedsEscape = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 0x20; c++) t[c] = true;
  t['"'] = t['\\'] = true;
  return t;
}();

// Whether byte c goes into a JSON string as it is: ASCII that needs no escape.
bool plain_byte(unsigned char c) { return c < 0x80 && !kNeedsEscape[c]; }

// Whether one of w's eight bytes needs an escape: a byte below 0x20, '"' or '\\' (the classic
// has-less-than and has-zero-byte tests; exact as "is there one", which is all that is asked).
bool any_needs_escape(uint64_t w) {
  using namespace byte_scan;
  return any_below(w, 0x20) | any_equal(w, '"') | any_equal(w, '\\');
}

constexpr size_t kLongestEscape = 6;  // \u00XX

// Writes c's escape at p (room for kLongestEscape); returns the end.
char* put_escape(char* p, unsigned char c) {
  if (const char* e = escape_of(c)) {
    size_t n = std::strlen(e);
    std::memcpy(p, e, n);
    return p + n;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::memcpy(p, "\\u00", 4);
  p[4] = kHex[c >> 4], p[5] = kHex[c & 15];
  return p + 6;
}

}  // namespace

void JsonFields::grow(size_t n) {
  size_t used = cur_ ? static_cast<size_t>(cur_ - out_->data()) : out_->size();
  out_->resize(used + std::max(n, kRoom));  // keeps what was written before `used`
  cur_ = out_->data() + used;
  end_ = out_->data() + out_->size();
}

void JsonFields::finish() {
  if (parent_) {
    parent_->cur_ = cur_, parent_->end_ = end_;
    parent_ = nullptr;
    cur_ = end_ = nullptr;
    out_ = nullptr;  // a finished nested object writes nothing more
    return;
  }
  if (cur_) out_->resize(static_cast<size_t>(cur_ - out_->data()));
  cur_ = end_ = nullptr;
}

void JsonFields::key(std::string_view k, std::string_view suffix) {
  cur_ = put_key(room(k.size() + suffix.size() + 4), k, suffix);
}

void JsonFields::string(std::string_view v) {
  char* p = room(v.size() + 2);
  *p++ = '"';
  size_t run = 0;  // start of the bytes not yet copied
  for (size_t i = 0; i < v.size(); i++) {
    // eight bytes at a time where none needs an escape (nearly always)
    while (i + 8 <= v.size() && !any_needs_escape(byte_scan::load8(v.data() + i))) i += 8;
    if (i == v.size()) break;
    unsigned char c = v[i];
    if (!kNeedsEscape[c]) continue;
    p = copy(p, v.substr(run, i - run));
    run = i + 1;
    cur_ = p;
    p = room(kLongestEscape + (v.size() - run) + 1);  // the escape, the rest, the closing quote
    p = put_escape(p, c);
  }
  p = copy(p, v.substr(run));
  *p++ = '"';
  cur_ = p;
}

void JsonFields::strings(const std::vector<std::string>& v) {
  text("[");
  for (size_t i = 0; i < v.size(); i++) {
    if (i) text(",");
    string(v[i]);
  }
  text("]");
}

// Whether v is ASCII with nothing to escape, so written as it is: one scan where UTF-8
// validation and the escape scan were two (paths are nearly always this).
static bool plain_ascii(std::string_view v) {
  auto plain = [](uint64_t w) { return !(byte_scan::any_high(w) | any_needs_escape(w)); };
  size_t i = 0;
  for (; i + 8 <= v.size(); i += 8)
    if (!plain(byte_scan::load8(v.data() + i))) return false;
  if (i == v.size()) return true;
  if (v.size() >= 8) return plain(byte_scan::load8(v.data() + v.size() - 8));  // the tail, overlapping
  for (; i < v.size(); i++)
    if (!plain_byte(static_cast<unsigned char>(v[i]))) return false;
  return true;
}

void JsonFields::path(std::string_view k, std::string_view v) {
  if (plain_ascii(v)) return field(k, v, true);
  if (is_valid_utf8(v)) return str(k, v);
  str(k, sanitize_utf8(v));
  key(k, "_b64");
  string(base64_encode(v));
}

void append_json_string(std::string& out, std::string_view v) { JsonFields(out).string(v); }

void append_json_names(std::string& out, const std::vector<std::string>& names) { JsonFields(out).strings(names); }

}  // namespace inotrace
