// Which pods are alive: their directory under the pods root, and (where the node has one) their
// cgroup in the kubepods hierarchy. A pod whose directory survives without a cgroup is what
// kubelet logs as "orphaned pod ... volume paths are still present on disk".
#pragma once

#include "paths/cgroup_identity.h"  // pod_uid_from_cgroup_name

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>

#include <optional>
#include <string>

namespace inotrace {

class PodIndex {
 public:
  // kubepods_cgroup: a directory of the kubepods hierarchy; empty = auto-detect under
  // /sys/fs/cgroup (cgroup v2 and v1, systemd and cgroupfs drivers); "none" = ignore cgroups.
  PodIndex(std::string pods_root, std::string kubepods_cgroup = "", std::string cgroup_fs = "/sys/fs/cgroup");

  void refresh();  // re-reads the pods root and the cgroup hierarchy
  const std::string& pods_root() const { return pods_root_; }
  bool pod_dir_exists(const std::string& uid) const;
  bool has_cgroup_hierarchy() const { return !kubepods_.empty(); }
  const std::string& cgroup_hierarchy() const { return kubepods_; }
  bool pod_has_cgroup(const std::string& uid) const { return pod_cgroups_.contains(uid); }
  // Changes whenever a refresh finds other pods or cgroups (order-independent hash).
  uint64_t fingerprint() const;

 private:
  std::string pods_root_;
  std::string configured_cgroup_;
  std::string cgroup_fs_;
  std::string kubepods_;
  absl::flat_hash_set<std::string> pod_dirs_;
  absl::flat_hash_set<std::string> pod_cgroups_;  // uids, dashes restored
};

}  // namespace inotrace
