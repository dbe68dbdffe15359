#include "paths/cgroup_id_index.h"

#include <fcntl.h>
#include <sys/statfs.h>

#include "paths/file_handle_path.h"

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

CgroupIdIndex::CgroupIdIndex(const std::string& unified_mount) {
  if (!unified_mount.empty()) root_.reset(open(unified_mount.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));  // not O_PATH: open_by_handle_at takes no O_PATH fd (EBADF)
}

std::optional<std::string> CgroupIdIndex::path_of(uint64_t cgroup_id) const {
  if (!root_) return std::nullopt;
  return kernfs_path_by_id(root_.get(), cgroup_id);
}

}  // namespace inotrace
