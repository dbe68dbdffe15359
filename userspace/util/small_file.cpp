#include "util/small_file.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace inotrace {

std::optional<std::string> read_small_file(const std::string& path) {
  std::ifstream f(path);
  if (!f) return std::nullopt;
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::optional<std::string> read_file_prefix(const std::string& path, size_t max_bytes, bool* cut) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return std::nullopt;
  std::string out;
  char buf[64 << 10];
  // One byte past the limit says whether there was more; nothing beyond it is read.
  while (out.size() <= max_bytes) {
    f.read(buf, (std::streamsize)std::min(sizeof(buf), max_bytes + 1 - out.size()));
    if (f.gcount() <= 0) break;
    out.append(buf, (size_t)f.gcount());
  }
  if (f.bad()) return std::nullopt;
  if (cut) *cut = out.size() > max_bytes;
  if (out.size() > max_bytes) out.resize(max_bytes);
  return out;
}

std::optional<std::string> read_lines_prefix(const std::string& path, size_t max_bytes, bool* cut) {
  bool was_cut = false;
  auto text = read_file_prefix(path, max_bytes, &was_cut);
  if (text && was_cut) text->erase(text->rfind('\n') + 1);  // npos + 1: no whole line, nothing
  if (cut) *cut = was_cut;
  return text;
}

std::optional<long long> read_long_file(const std::string& path) {
  auto text = read_small_file(path);
  if (!text) return std::nullopt;
  try {
    return std::stoll(*text);
  } catch (...) {
    return std::nullopt;
  }
}

bool write_long_file(const std::string& path, long long value, std::string* error) {
  std::ofstream f(path);
  f << value << '\n';
  f.flush();
  if (!f) {
    if (error) *error = fmt::format("cannot write {} to {}", value, path);
    return false;
  }
  return true;
}

}  // namespace inotrace
