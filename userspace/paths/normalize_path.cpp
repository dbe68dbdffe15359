#include "paths/normalize_path.h"

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

}  // namespace inotrace
