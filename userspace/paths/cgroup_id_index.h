// Which cgroup an id names: events carry the task's cgroup id (bpf_get_current_cgroup_id, the
// unified hierarchy's), which stays valid after the task exits, when /proc/PID/cgroup is gone
// or names a reused pid. kernfs opens a node by its id as a file handle, so each lookup is one
// open_by_handle_at on the hierarchy's root: no walk a user could make long by creating
// cgroups in a delegated subtree.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "util/unique_fd.h"

namespace inotrace {

class CgroupIdIndex {
 public:
  // `unified_mount`: where the unified hierarchy is mounted ("" = not mounted: nothing found).
  explicit CgroupIdIndex(const std::string& unified_mount);
  // The cgroup's path inside the hierarchy ("/kubepods/besteffort/pod.../id"); nullopt if the
  // id is not (or no longer) a cgroup of it.
  std::optional<std::string> path_of(uint64_t cgroup_id) const;

 private:
  UniqueFd root_;
};

// The unified hierarchy's mount point on this host: /sys/fs/cgroup (v2) or
// /sys/fs/cgroup/unified (hybrid); "" on a v1-only host.
std::string unified_cgroup_mount();

}  // namespace inotrace
