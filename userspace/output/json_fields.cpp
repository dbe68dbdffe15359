#include "output/json_fields.h"

#include <array>
#include <cstring>

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

// One table load per byte instead of three compares: the scan is most of a JSON line's cost.
constexpr std::array<bool, 256> kNeedsEscape = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 0x20; c++) t[c] = true;
  t['"'] = t['\\'] = true;
  return t;
}();

bool needs_escape(unsigned char c) { return kNeedsEscape[c]; }

}  // namespace

void append_json_string(std::string& out, std::string_view v) {
  out += '"';
  size_t run = 0;  // start of the bytes not yet copied
  for (size_t i = 0; i < v.size(); i++) {
    unsigned char c = v[i];
    if (!needs_escape(c)) continue;
    out.append(v.data() + run, i - run);
    run = i + 1;
    if (const char* e = escape_of(c)) out += e;
    else fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
  }
  out.append(v.data() + run, v.size() - run);
  out += '"';
}

void JsonFields::key(std::string_view k, std::string_view suffix) {
  char buf[64];
  if (k.size() + suffix.size() + 4 > sizeof buf) {
    if (!first_) out_ += ',';
    first_ = false;
    ((out_ += '"') += k) += suffix;
    out_ += "\":";
    return;
  }
  out_.append(buf, put_key(buf, k, suffix));
}

void append_json_names(std::string& out, const std::vector<std::string>& names) {
  out += '[';
  for (size_t i = 0; i < names.size(); i++) {
    if (i) out += ',';
    append_json_string(out, names[i]);
  }
  out += ']';
}

void JsonFields::path(std::string_view k, std::string_view v) {
  if (is_valid_utf8(v)) return str(k, v);
  str(k, sanitize_utf8(v));
  key(k, "_b64");
  append_json_string(out_, base64_encode(v));
}

}  // namespace inotrace
