#include "paths/cgroup_id_index.h"

#include <sys/stat.h>
#include <sys/statfs.h>

#include <filesystem>

#include "util/wall_clock.h"

namespace inotrace {

namespace {
bool is_cgroup2(const std::string& dir) {
  struct statfs fs;
  return statfs(dir.c_str(), &fs) == 0 && fs.f_type == 0x63677270;  // CGROUP2_SUPER_MAGIC
}
}  // namespace

std::string unified_cgroup_mount() {
  for (const char* dir : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"})
    if (is_cgroup2(dir)) return dir;
  return "";
}

std::optional<std::string> CgroupIdIndex::path_of(uint64_t cgroup_id) {
  auto it = paths_.find(cgroup_id);
  if (it == paths_.end()) {
    uint64_t now = WallClock::monotonic_now_ns();
    if (mount_.empty() || (walked_ns_ && now - walked_ns_ < kMinRewalkNs)) return std::nullopt;
    walk();
    it = paths_.find(cgroup_id);
    if (it == paths_.end()) return std::nullopt;
  }
  // Ids are never reused, but the directory may be gone: say so rather than name a dead one.
  struct stat st;
  if (stat((mount_ + it->second).c_str(), &st) != 0 || st.st_ino != cgroup_id) return std::nullopt;
  return it->second;
}

void CgroupIdIndex::walk() {
  namespace fs = std::filesystem;
  walked_ns_ = WallClock::monotonic_now_ns();
  paths_.clear();
  std::error_code ec;
  struct stat st;
  if (stat(mount_.c_str(), &st) == 0) paths_.emplace(st.st_ino, "/");
  fs::recursive_directory_iterator it(mount_, fs::directory_options::skip_permission_denied, ec), end;
  for (; !ec && it != end && paths_.size() < kMaxCgroups; it.increment(ec)) {
    if (!it->is_directory(ec) || it->is_symlink(ec)) {
      ec.clear();
      continue;
    }
    std::string full = it->path().string();
    if (stat(full.c_str(), &st) == 0) paths_.emplace(st.st_ino, full.substr(mount_.size()));
  }
}

}  // namespace inotrace
