#include "paths/marked_paths.h"

namespace inotrace {

std::string truncated_path(std::string_view tail) {
  std::string out(kTruncationMark);
  if (!tail.starts_with('/')) out += '/';
  out.append(tail);
  return out;
}

std::string fs_relative_path(KernelDev dev, std::string_view fs_path) {
  std::string out = dev.str();
  out += ':';
  if (!fs_path.starts_with('/')) out += '/';
  out.append(fs_path);
  return out;
}

}  // namespace inotrace
