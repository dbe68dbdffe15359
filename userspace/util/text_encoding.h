// Byte strings from the kernel (paths) are arbitrary: no NUL, anything else allowed. These
// helpers make them safe for JSON (valid UTF-8, plus the exact bytes in base64 when needed) and
// for one-line text output.
#pragma once

#include <string>
#include <string_view>

namespace inotrace {

bool is_valid_utf8(std::string_view s);
// Replaces each invalid UTF-8 sequence with U+FFFD.
std::string sanitize_utf8(std::string_view s);
std::string base64_encode(std::string_view bytes);
// For a single text line: \n \t \r \\ and other control / invalid bytes as \xNN escapes; C1
// controls (U+0080-U+009F), bidi overrides (U+202A-U+202E, U+2066-U+2069) and U+2028/U+2029 as
// \uXXXX.
std::string escape_for_text(std::string_view s);
// Whether escape_for_text(s) is s itself: every byte printable ASCII other than '\\' (checked
// eight bytes at a time).
bool printable_ascii(std::string_view s);
// The same, appended to `out` (no string of its own: the text output's per-event path).
void append_escaped_for_text(std::string& out, std::string_view s);

}  // namespace inotrace
