#include "stacks/process_maps.h"

#include <algorithm>
#include <charconv>

namespace inotrace {

namespace {

// Next space-separated field of `line`, advancing it.
std::string_view next_field(std::string_view& line) {
  size_t b = line.find_first_not_of(' ');
  if (b == std::string_view::npos) return line = {}, std::string_view{};
  line.remove_prefix(b);
  size_t e = line.find(' ');
  std::string_view f = line.substr(0, e);
  line.remove_prefix(e == std::string_view::npos ? line.size() : e);
  return f;
}

bool hex(std::string_view s, uint64_t* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out, 16);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

// "start-end perms offset major:minor inode   path"
bool parse_line(std::string_view line, FileMapping* m) {
  std::string_view range = next_field(line), perms = next_field(line), off = next_field(line),
                   dev = next_field(line), ino = next_field(line);
  size_t dash = range.find('-'), colon = dev.find(':');
  if (dash == std::string_view::npos || colon == std::string_view::npos || perms.size() < 4) return false;
  uint64_t maj = 0, min = 0;
  if (!hex(range.substr(0, dash), &m->start) || !hex(range.substr(dash + 1), &m->end) || m->end <= m->start ||
      !hex(off, &m->file_offset) || !hex(dev.substr(0, colon), &maj) || !hex(dev.substr(colon + 1), &min))
    return false;
  auto [p, ec] = std::from_chars(ino.data(), ino.data() + ino.size(), m->ino);
  if (ec != std::errc() || p != ino.data() + ino.size() || m->ino == 0 || perms[2] != 'x') return false;
  size_t b = line.find_first_not_of(' ');
  if (b == std::string_view::npos || line[b] != '/') return false;
  m->path.assign(line.substr(b));
  if (maj > 0xfff || min > 0xfffff) return false;
  m->dev = (uint32_t)(maj << 20 | min);
  return true;
}

}  // namespace

std::vector<FileMapping> parse_executable_mappings(std::string_view text) {
  std::vector<FileMapping> out;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    FileMapping m;
    if (parse_line(line, &m)) out.push_back(std::move(m));
  }
  std::sort(out.begin(), out.end(), [](const FileMapping& a, const FileMapping& b) { return a.start < b.start; });
  return out;
}

const FileMapping* mapping_of(const std::vector<FileMapping>& mappings, uint64_t addr) {
  auto it = std::upper_bound(mappings.begin(), mappings.end(), addr,
                             [](uint64_t a, const FileMapping& m) { return a < m.start; });
  if (it == mappings.begin()) return nullptr;
  --it;
  return it->contains(addr) ? &*it : nullptr;
}

}  // namespace inotrace
