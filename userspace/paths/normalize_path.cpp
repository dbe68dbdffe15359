#include "paths/normalize_path.h"

#include <algorithm>

namespace inotrace {

std::string normalize_path(std::string_view path) {
  if (path.empty()) return {};
  bool absolute = path.front() == '/';
  std::string out;
  out.reserve(path.size());
  if (absolute) out = "/";
  size_t i = 0;
  while (i < path.size()) {
    size_t end = path.find('/', i);
    if (end == std::string_view::npos) end = path.size();
    std::string_view comp = path.substr(i, end - i);
    i = end + 1;
    if (comp.empty() || comp == ".") continue;
    if (!out.empty() && out.back() != '/') out += '/';
    out.append(comp);
  }
  if (out.empty()) return ".";  // "." or "./": the directory itself
  return out;
}

bool is_normal_path(std::string_view path) {
  if (path.empty() || path == "/" || path == ".") return true;
  for (size_t i = path.front() == '/' ? 1 : 0;;) {
    size_t end = std::min(path.find('/', i), path.size());
    std::string_view comp = path.substr(i, end - i);
    if (comp.empty() || comp == ".") return false;  // "//", "/./", a trailing '/' or "/."
    if (end == path.size()) return true;
    i = end + 1;
  }
}

bool has_dotdot(std::string_view path) {
  size_t i = 0;
  while ((i = path.find("..", i)) != std::string_view::npos) {
    bool starts = i == 0 || path[i - 1] == '/';
    bool ends = i + 2 == path.size() || path[i + 2] == '/';
    if (starts && ends) return true;
    i += 2;
  }
  return false;
}

std::string drop_dotdot_lexically(std::string_view absolute_path) {
  std::string out;
  for (size_t i = 0; i < absolute_path.size();) {
    size_t end = absolute_path.find('/', i);
    if (end == std::string_view::npos) end = absolute_path.size();
    std::string_view comp = absolute_path.substr(i, end - i);
    i = end + 1;
    if (comp.empty() || comp == ".") continue;
    if (comp == "..") {
      out.resize(out.rfind('/') == std::string::npos ? 0 : out.rfind('/'));  // "/.." is "/"
      continue;
    }
    (out += '/') += comp;
  }
  return out.empty() ? "/" : out;
}

}  // namespace inotrace
