#include "paths/mountinfo.h"

#include <fmt/format.h>

#include "util/parse_warnings.h"
#include "util/small_file.h"

#include <charconv>
#include <limits>
#include <optional>
#include <unordered_set>

namespace inotrace {
namespace {

// Plain decimal, no sign, no spaces; nullopt if not exactly that or above `max`.
std::optional<uint32_t> parse_decimal(std::string_view s, uint32_t max) {
  if (s.empty()) return std::nullopt;
  for (char c : s)
    if (c < '0' || c > '9') return std::nullopt;
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 10);
  if (ec != std::errc() || p != s.data() + s.size() || v > max) return std::nullopt;
  return v;
}

// Splits on single spaces, keeping empty fields: an empty source prints as two spaces.
void split_fields(std::string_view line, std::vector<std::string_view>& out) {
  out.clear();
  size_t pos = 0;
  while (true) {
    size_t sp = line.find(' ', pos);
    if (sp == std::string_view::npos) {
      out.push_back(line.substr(pos));
      return;
    }
    out.push_back(line.substr(pos, sp - pos));
    pos = sp + 1;
  }
}

bool is_octal(char c) { return c >= '0' && c <= '7'; }

// Fields 0-2: mount id, parent id, major:minor. False (with a warning) if any is bad.
bool parse_ids(const std::vector<std::string_view>& f, MountEntry& m, size_t line_no, ParseWarnings& warn) {
  constexpr uint32_t kIntMax = std::numeric_limits<int>::max();
  auto mount_id = parse_decimal(f[0], kIntMax);
  auto parent_id = parse_decimal(f[1], kIntMax);
  if (!mount_id || !parent_id) {
    warn.add(line_no, "bad {} '{}'; line skipped", mount_id ? "parent id" : "mount id", excerpt(mount_id ? f[1] : f[0]));
    return false;
  }
  m.mount_id = static_cast<int>(*mount_id);
  m.parent_id = static_cast<int>(*parent_id);
  size_t colon = f[2].find(':');
  if (colon == std::string_view::npos) {
    warn.add(line_no, "bad major:minor '{}'; line skipped", excerpt(f[2]));
    return false;
  }
  // KernelDev holds 12 bits of major and 20 of minor, like the kernel's dev_t.
  auto major = parse_decimal(f[2].substr(0, colon), (1u << 12) - 1);
  auto minor = parse_decimal(f[2].substr(colon + 1), (1u << 20) - 1);
  if (!major || !minor) {
    warn.add(line_no, "bad or out-of-range major:minor '{}'; line skipped", excerpt(f[2]));
    return false;
  }
  m.dev.raw = *major << 20 | *minor;
  return true;
}

// After the " - " separator at f[sep]: fstype, source, and the rest of the line (super options).
bool parse_tail(std::string_view line, const std::vector<std::string_view>& f, size_t sep, MountEntry& m, size_t line_no,
                ParseWarnings& warn) {
  if (f.size() < sep + 3) {
    warn.add(line_no, "missing fstype or source after '-'; line skipped: '{}'", excerpt(line));
    return false;
  }
  if (f[sep + 1].empty()) {
    warn.add(line_no, "empty fstype; line skipped");
    return false;
  }
  m.fstype = unescape_mountinfo(f[sep + 1]);
  m.source = unescape_mountinfo(f[sep + 2]);  // may legitimately be empty
  if (f.size() > sep + 3) {
    // The rest of the line, so a filesystem that prints an unescaped space loses nothing.
    m.super_options = std::string(line.substr(f[sep + 3].data() - line.data()));
  }
  if (m.super_options.empty()) {
    // The kernel always prints "rw" or "ro": the line was cut, maybe inside the source.
    warn.add(line_no, "missing super options (truncated?); mount {} kept, source may be incomplete", m.mount_id);
  }
  return true;
}

// Fields: 0 mount id, 1 parent id, 2 major:minor, 3 root, 4 mount point, 5 mount options,
// then optional fields up to "-", then fstype, source, super options.
std::optional<MountEntry> parse_line(std::string_view line, std::vector<std::string_view>& f,
                                     size_t line_no, ParseWarnings& warn) {
  split_fields(line, f);
  constexpr size_t kFixed = 6;
  if (f.size() < kFixed + 1) {
    warn.add(line_no, "too few fields ({}); line skipped: '{}'", f.size(), excerpt(line));
    return std::nullopt;
  }
  // Spaces inside fields are escaped, so the first bare "-" after the fixed fields is the end.
  size_t sep = kFixed;
  while (sep < f.size() && f[sep] != "-") sep++;
  if (sep == f.size()) {
    warn.add(line_no, "no ' - ' separator; line skipped: '{}'", excerpt(line));
    return std::nullopt;
  }
  MountEntry m;
  if (!parse_ids(f, m, line_no, warn)) return std::nullopt;
  for (size_t i = 3; i < sep; i++) {
    if (f[i].empty()) {
      warn.add(line_no, "empty field {} (doubled space?); line skipped", i + 1);
      return std::nullopt;
    }
  }
  m.root = unescape_mountinfo(f[3]);
  m.mount_point = unescape_mountinfo(f[4]);
  m.mount_options = std::string(f[5]);
  for (size_t i = kFixed; i < sep; i++) m.optional_fields.emplace_back(f[i]);
  if (!parse_tail(line, f, sep, m, line_no, warn)) return std::nullopt;
  return m;
}

}  // namespace

std::string unescape_mountinfo(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (size_t i = 0; i < field.size(); i++) {
    char c = field[i];
    if (c == '\\' && i + 3 < field.size() && field[i + 1] >= '0' && field[i + 1] <= '3' &&
        is_octal(field[i + 2]) && is_octal(field[i + 3])) {
      out += static_cast<char>((field[i + 1] - '0') << 6 | (field[i + 2] - '0') << 3 | (field[i + 3] - '0'));
      i += 3;
    } else {
      out += c;
    }
  }
  return out;
}

MountinfoParse parse_mountinfo(std::string_view text) {
  MountinfoParse out;
  ParseWarnings warn(out.warnings, "mountinfo", kMountinfoMaxWarnings);
  std::vector<std::string_view> fields;  // reused: no allocation per line
  std::unordered_set<int> seen_ids;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    size_t end = nl == std::string_view::npos ? text.size() : nl;
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    line_no++;
    if (line.empty()) continue;
    auto m = parse_line(line, fields, line_no, warn);
    if (!m) continue;
    // Ids are unique; a repeat means the file changed while it was read. Keep the first.
    if (!seen_ids.insert(m->mount_id).second) {
      warn.add(line_no, "duplicate mount id {}; line skipped", m->mount_id);
      continue;
    }
    out.mounts.push_back(std::move(*m));
  }
  warn.finish();
  return out;
}

std::optional<MountinfoParse> read_mountinfo(const std::string& path) {
  bool cut = false;
  auto text = read_lines_prefix(path, kMountinfoReadLimit, &cut);
  if (!text) return std::nullopt;
  MountinfoParse parsed = parse_mountinfo(*text);
  if (cut)
    parsed.warnings.push_back(fmt::format("mountinfo over {} MiB: the mounts after the first {} are not known",
                                          kMountinfoReadLimit >> 20, parsed.mounts.size()));
  return parsed;
}

}  // namespace inotrace
