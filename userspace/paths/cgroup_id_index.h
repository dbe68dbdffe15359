// Which cgroup an id names: events carry the task's cgroup id (bpf_get_current_cgroup_id, the
// unified hierarchy's), which stays valid after the task exits, when /proc/PID/cgroup is gone
// or names a reused pid. On cgroup2 the id is the directory's inode number, so a walk of the
// unified mount maps ids to paths. The walk runs on a miss, at most once per kMinRewalkNs, and
// stops at kMaxCgroups directories (a node has hundreds to a few thousands).
#pragma once

#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <optional>
#include <string>

namespace inotrace {

class CgroupIdIndex {
 public:
  // `unified_mount`: where the unified hierarchy is mounted ("" = not mounted: nothing found).
  explicit CgroupIdIndex(std::string unified_mount) : mount_(std::move(unified_mount)) {}
  // The cgroup's path inside the hierarchy ("/kubepods/besteffort/pod.../id"); nullopt if the
  // id is not (or no longer) a directory of it.
  std::optional<std::string> path_of(uint64_t cgroup_id);

  static constexpr uint64_t kMinRewalkNs = 1'000'000'000;
  static constexpr size_t kMaxCgroups = 100'000;

 private:
  void walk();
  std::string mount_;
  absl::flat_hash_map<uint64_t, std::string> paths_;
  uint64_t walked_ns_ = 0;
};

// The unified hierarchy's mount point on this host: /sys/fs/cgroup (v2) or
// /sys/fs/cgroup/unified (hybrid); "" on a v1-only host.
std::string unified_cgroup_mount();

}  // namespace inotrace
