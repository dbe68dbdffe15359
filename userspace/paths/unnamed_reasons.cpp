#include "paths/unnamed_reasons.h"

#include <fmt/format.h>

namespace inotrace::unnamed {

std::string unlinked(std::string_view fs_path) { return fmt::format("unlinked (was {})", fs_path); }

std::string not_mounted(std::string_view fs_path) {
  if (fs_path.empty()) return "not mounted in any namespace";
  return fmt::format("not mounted in any namespace (in-filesystem path {})", fs_path);
}

std::string mounted_elsewhere(uint64_t mnt_ns, uint32_t pid) {
  return fmt::format("mounted only in another mount namespace (mnt:[{}], pid {})", mnt_ns, pid);
}

std::string outside_every_mount(KernelDev dev, std::string_view fs_path) {
  return fmt::format("outside every mount of {} (in-filesystem path {})", dev.str(), fs_path);
}

}  // namespace inotrace::unnamed
