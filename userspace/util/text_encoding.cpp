#include "util/text_encoding.h"

#include "util/byte_scan.h"

#include <fmt/format.h>

#include <cstdint>
#include <cstring>

namespace inotrace {

namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 if invalid (RFC 3629: no
// overlongs, no surrogates, nothing above U+10FFFF).
size_t utf8_seq_len(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  uint8_t c = b(i);
  if (c < 0x80) return 1;
  size_t n;
  uint32_t cp;
  if (c >= 0xc2 && c <= 0xdf) n = 2, cp = c & 0x1f;
  else if (c >= 0xe0 && c <= 0xef) n = 3, cp = c & 0x0f;
  else if (c >= 0xf0 && c <= 0xf4) n = 4, cp = c & 0x07;
  else return 0;
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; k++) {
    if ((b(i + k) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3f);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
      (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return n;
}

// The code point of one valid UTF-8 sequence.
uint32_t decode(std::string_view seq) {
  auto b = [&](size_t k) { return static_cast<uint8_t>(seq[k]); };
  if (seq.size() == 1) return b(0);
  uint32_t cp = b(0) & (0x7f >> seq.size());
  for (size_t k = 1; k < seq.size(); k++) cp = (cp << 6) | (b(k) & 0x3f);
  return cp;
}

// Non-ASCII code points a terminal acts on or that change how a line reads: C1 controls (U+009B
// is an 8-bit CSI), bidi embeddings/overrides/isolates (text shown in another order), and the
// line/paragraph separators.
bool acted_on_by_terminals(uint32_t cp) {
  return (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
         cp == 0x2028 || cp == 0x2029;
}

}  // namespace

bool is_valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    // eight ASCII bytes at a time: names are mostly ASCII, and this runs per event
    if (i + 8 <= s.size() && !byte_scan::any_high(byte_scan::load8(s.data() + i))) {
      i += 8;
      continue;
    }
    size_t n = utf8_seq_len(s, i);
    if (!n) return false;
    i += n;
  }
  return true;
}

std::string sanitize_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    size_t n = utf8_seq_len(s, i);
    if (n) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out += "\xef\xbf\xbd";
      i += 1;
    }
  }
  return out;
}

std::string base64_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t v = (uint8_t)bytes[i] << 16 | (uint8_t)bytes[i + 1] << 8 | (uint8_t)bytes[i + 2];
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < bytes.size()) {
    uint32_t v = (uint8_t)bytes[i] << 16;
    if (i + 1 < bytes.size()) v |= (uint8_t)bytes[i + 1] << 8;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

bool printable_ascii(std::string_view s) {
  using namespace byte_scan;
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w = load8(s.data() + i);
    // 0x7f and up: w + 1 sets the high bit of 0x7f (a carry out of 0xff needs a high bit already)
    if (any_below(w, 0x20) | any_high(w) | any_high(w + kOnes) | any_equal(w, '\\')) return false;
  }
  for (; i < s.size(); i++) {
    unsigned char c = s[i];
    if (c < 0x20 || c >= 0x7f || c == '\\') return false;
  }
  return true;
}

void append_escaped_for_text(std::string& out, std::string_view s) {
  // Most names are printable ASCII: nothing to escape.
  if (printable_ascii(s)) {
    out.append(s);
    return;
  }
  for (size_t i = 0; i < s.size();) {
    unsigned char c = s[i];
    if (c == '\\') out += "\\\\", i++;
    else if (c == '\n') out += "\\n", i++;
    else if (c == '\t') out += "\\t", i++;
    else if (c == '\r') out += "\\r", i++;
    else if (c < 0x20 || c == 0x7f) fmt::format_to(std::back_inserter(out), "\\x{:02x}", c), i++;
    else if (size_t n = utf8_seq_len(s, i)) {
      if (uint32_t cp = decode(s.substr(i, n)); acted_on_by_terminals(cp)) fmt::format_to(std::back_inserter(out), "\\u{:04x}", cp);
      else out.append(s.substr(i, n));
      i += n;
    } else fmt::format_to(std::back_inserter(out), "\\x{:02x}", c), i++;
  }
}

std::string escape_for_text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  append_escaped_for_text(out, s);
  return out;
}

}  // namespace inotrace
