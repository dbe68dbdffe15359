// One-line text output of kernel byte strings (paths and command names any user chooses), as
// `inotrace trace` prints them to a terminal. Properties: the escaped text is valid UTF-8 with
// no control byte (no newline, no ESC), and unescaping it gives back the exact input bytes, so
// two different names never print alike. The whole text row of a decoded event holds the same.
#include <fuzzer/FuzzedDataProvider.h>

#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "output/event_text.h"
#include "util/text_encoding.h"

using namespace inotrace;

namespace {

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xc0 | cp >> 6), out += char(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += char(0xe0 | cp >> 12), out += char(0x80 | ((cp >> 6) & 0x3f)), out += char(0x80 | (cp & 0x3f));
  } else {
    out += char(0xf0 | cp >> 18), out += char(0x80 | ((cp >> 12) & 0x3f));
    out += char(0x80 | ((cp >> 6) & 0x3f)), out += char(0x80 | (cp & 0x3f));
  }
}

// Inverse of escape_for_text: \\ \n \t \r \xNN (a raw byte), \uXXXX and \u{X...} (a code point).
// Aborts on anything else after a backslash: the escaper must never emit an ambiguous one.
std::string unescape_text(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] != '\\') {
      out += s[i];
      continue;
    }
    FUZZ_CHECK(i + 1 < s.size());
    char k = s[++i];
    if (k == '\\') out += '\\';
    else if (k == 'n') out += '\n';
    else if (k == 't') out += '\t';
    else if (k == 'r') out += '\r';
    else if (k == 'x') {
      FUZZ_CHECK(i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0);
      out += char(hex(s[i + 1]) << 4 | hex(s[i + 2]));
      i += 2;
    } else if (k == 'u' && i + 1 < s.size() && s[i + 1] == '{') {
      size_t close = s.find('}', i);
      FUZZ_CHECK(close != std::string_view::npos && close > i + 2 && close - i <= 8);
      uint32_t cp = 0;
      for (size_t j = i + 2; j < close; j++) {
        FUZZ_CHECK(hex(s[j]) >= 0);
        cp = cp << 4 | hex(s[j]);
      }
      append_utf8(out, cp);
      i = close;
    } else if (k == 'u') {
      FUZZ_CHECK(i + 4 < s.size());
      uint32_t cp = 0;
      for (size_t j = i + 1; j <= i + 4; j++) {
        FUZZ_CHECK(hex(s[j]) >= 0);
        cp = cp << 4 | hex(s[j]);
      }
      append_utf8(out, cp);
      i += 4;
    } else {
      FUZZ_CHECK(!"unknown escape");
    }
  }
  return out;
}

void check_printable(std::string_view s) {
  FUZZ_CHECK(is_valid_utf8(s));
  for (unsigned char c : s) FUZZ_CHECK(c >= 0x20 && c != 0x7f);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view raw(reinterpret_cast<const char*>(data), size);
  std::string shown = escape_for_text(raw);
  check_printable(shown);
  FUZZ_CHECK(unescape_text(shown) == raw);

  FuzzedDataProvider in(data, size);
  Event ev;
  ev.type = static_cast<EventType>(in.ConsumeIntegralInRange<int>(INOTRACE_REC_ADD, INOTRACE_REC_INIT_FAILED));
  ev.dev.raw = in.ConsumeIntegral<uint32_t>();
  ev.mask = in.ConsumeIntegral<uint32_t>();
  ev.req_mask = in.ConsumeIntegral<uint32_t>();
  ev.err = in.ConsumeIntegral<int32_t>();
  ev.reason = static_cast<Reason>(in.ConsumeIntegralInRange<int>(INOTRACE_REASON_NONE, INOTRACE_REASON_UNKNOWN));
  ev.ucount.count = in.ConsumeIntegral<int64_t>();
  ev.task.comm = in.ConsumeRandomLengthString(16);
  ev.path = in.ConsumeRemainingBytesAsString();
  check_printable(event_to_text(ev, WallClock(0)));
  return 0;
}
