#include "snapshot/fdinfo_parser.h"

#include <fmt/format.h>

#include "util/parse_warnings.h"

#include <charconv>
#include <limits>
#include <unordered_set>

namespace inotrace {
namespace {

bool is_digit_in(char c, int base) {
  if (base == 8) return c >= '0' && c <= '7';
  if (base == 10) return c >= '0' && c <= '9';
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Why the value failed, as a phrase for the warning; nullptr on success.
template <typename T>
const char* parse_uint(std::string_view s, int base, T& out) {
  static_assert(std::is_unsigned_v<T>, "unsigned only: from_chars accepts '-' for signed types");
  if (s.empty()) return "empty";
  for (char c : s)
    if (!is_digit_in(c, base)) return base == 16 ? "not hex" : base == 8 ? "not octal" : "not decimal";
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
  if (ec == std::errc::result_out_of_range) return "overflows its type";
  if (ec != std::errc() || p != s.data() + s.size()) return "not a number";
  return nullptr;
}

int hex_nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view trim_right(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::string_view trim_left(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

// The key:value tokens of one inotify line, in kernel print order.
enum Key { kWd, kIno, kSdev, kMask, kIgnoredMask, kHandleBytes, kHandleType, kHandle, kKeyCount };
constexpr std::string_view kKeyNames[kKeyCount] = {
    "wd", "ino", "sdev", "mask", "ignored_mask", "fhandle-bytes", "fhandle-type", "f_handle"};

std::optional<FileHandle> parse_handle(const std::optional<std::string_view> (&v)[kKeyCount],
                                       size_t line_no, ParseWarnings& warn) {
  if (!v[kHandleBytes] && !v[kHandleType] && !v[kHandle]) return std::nullopt;  // not printed
  for (int k : {kHandleBytes, kHandleType, kHandle}) {
    if (!v[k]) {
      warn.add(line_no, "file handle without '{}' (truncated?); handle dropped", kKeyNames[k]);
      return std::nullopt;
    }
  }
  uint32_t nbytes = 0;
  FileHandle fh;
  if (const char* why = parse_uint(*v[kHandleBytes], 16, nbytes)) {
    warn.add(line_no, "fhandle-bytes '{}' {}; handle dropped", excerpt(*v[kHandleBytes]), why);
    return std::nullopt;
  }
  if (const char* why = parse_uint(*v[kHandleType], 16, fh.type)) {
    warn.add(line_no, "fhandle-type '{}' {}; handle dropped", excerpt(*v[kHandleType]), why);
    return std::nullopt;
  }
  std::string_view hex = *v[kHandle];
  if (hex.size() % 2) {
    warn.add(line_no, "f_handle has an odd number of hex digits ({}); handle dropped", hex.size());
    return std::nullopt;
  }
  // Compare before allocating: a bogus count must not size anything.
  if (hex.size() / 2 != nbytes) {
    warn.add(line_no, "f_handle has {} bytes but fhandle-bytes says {}; handle dropped",
             hex.size() / 2, nbytes);
    return std::nullopt;
  }
  fh.bytes.reserve(nbytes);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = hex_nibble(hex[i]), lo = hex_nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      warn.add(line_no, "f_handle '{}' not hex; handle dropped", excerpt(hex));
      return std::nullopt;
    }
    fh.bytes.push_back(static_cast<uint8_t>(hi << 4 | lo));
  }
  return fh;
}

// `rest` is the line after "inotify ". Returns nullopt (after one warning) if the line is unusable.
std::optional<FdinfoWatch> parse_inotify_line(std::string_view rest, size_t line_no, ParseWarnings& warn) {
  std::optional<std::string_view> v[kKeyCount];
  std::string_view partial;  // a last token cut inside its key
  while (!rest.empty()) {
    size_t sp = rest.find(' ');
    std::string_view tok = rest.substr(0, sp);
    rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp + 1);
    if (tok.empty()) continue;  // doubled space
    size_t colon = tok.find(':');
    if (colon == std::string_view::npos) {
      if (trim_right(rest).empty()) {
        partial = tok;  // judged below, once we know whether the watch itself is complete
        break;
      }
      warn.add(line_no, "inotify line has a token without ':' ('{}'); line skipped", excerpt(tok));
      return std::nullopt;
    }
    std::string_view key = tok.substr(0, colon);
    for (int k = 0; k < kKeyCount; k++) {
      if (key != kKeyNames[k]) continue;
      if (v[k]) {
        warn.add(line_no, "inotify line repeats '{}'; line skipped", key);
        return std::nullopt;
      }
      v[k] = tok.substr(colon + 1);
    }
    // Unknown keys are ignored: a newer kernel may append fields.
  }

  FdinfoWatch w;
  uint32_t wd = 0;
  // Checked in print order, so a line cut short reports its first missing field.
  auto field = [&](Key k, auto& out) -> bool {
    if (!v[k]) {
      warn.add(line_no, "inotify line missing '{}' (truncated?); line skipped", kKeyNames[k]);
      return false;
    }
    if (const char* why = parse_uint(*v[k], 16, out)) {
      warn.add(line_no, "inotify {} '{}' {}; line skipped", kKeyNames[k], excerpt(*v[k]), why);
      return false;
    }
    return true;
  };
  if (!field(kWd, wd)) return std::nullopt;
  if (wd == 0 || wd > static_cast<uint32_t>(std::numeric_limits<int32_t>::max())) {
    warn.add(line_no, "inotify wd '{}' out of range (must be 1..7fffffff); line skipped", *v[kWd]);
    return std::nullopt;
  }
  w.wd = static_cast<int32_t>(wd);
  if (!field(kIno, w.ino) || !field(kSdev, w.dev.raw) || !field(kMask, w.mask) ||
      !field(kIgnoredMask, w.ignored_mask))
    return std::nullopt;
  if (!partial.empty()) {
    // Cut inside the fhandle part: whatever handle fields were read may be incomplete.
    warn.add(line_no, "inotify line ends mid-token ('{}', truncated?); handle dropped", excerpt(partial));
    return w;
  }
  w.handle = parse_handle(v, line_no, warn);
  return w;
}

}  // namespace

FdinfoParse parse_inotify_fdinfo(std::string_view text) {
  FdinfoParse out;
  ParseWarnings warn(out.warnings, "fdinfo", kFdinfoMaxWarnings);
  std::unordered_set<int32_t> seen_wds;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    size_t end = nl == std::string_view::npos ? text.size() : nl;
    std::string_view line = trim_right(text.substr(pos, end - pos));
    pos = end + 1;
    line_no++;
    if (line.empty()) continue;

    if (line == "inotify" || line.starts_with("inotify ")) {
      out.saw_inotify_line = true;
      auto w = parse_inotify_line(line.substr(std::min<size_t>(line.size(), 8)), line_no, warn);
      if (!w) continue;
      // A wd appears once per instance; a repeat means an inconsistent read, so keep the first.
      if (!seen_wds.insert(w->wd).second) {
        warn.add(line_no, "duplicate wd {:x}; line skipped", w->wd);
        continue;
      }
      out.watches.push_back(std::move(*w));
      continue;
    }

    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;  // not ours to judge
    std::string_view key = line.substr(0, colon);
    std::string_view value = trim_left(line.substr(colon + 1));
    if (key == "flags") {
      uint32_t flags = 0;
      if (out.flags) warn.add(line_no, "repeated 'flags' line ignored");
      else if (const char* why = parse_uint(value, 8, flags))
        warn.add(line_no, "flags '{}' {}", excerpt(value), why);
      else out.flags = flags;
    } else if (key == "mnt_id") {
      unsigned id = 0;
      if (out.mnt_id) warn.add(line_no, "repeated 'mnt_id' line ignored");
      else if (const char* why = parse_uint(value, 10, id))
        warn.add(line_no, "mnt_id '{}' {}", excerpt(value), why);
      else if (id > static_cast<unsigned>(std::numeric_limits<int>::max()))
        warn.add(line_no, "mnt_id '{}' overflows its type", excerpt(value));
      else out.mnt_id = static_cast<int>(id);
    }
    // pos:, ino: and anything newer are not needed.
  }
  warn.finish();
  return out;
}

}  // namespace inotrace
