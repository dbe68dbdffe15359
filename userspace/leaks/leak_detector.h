// Finds the watches that outlived their pod, and what keeps them alive:
//   pod_deleted  — a path known for the watch (its add-time path, or a mount point of its
//                  filesystem in any mount namespace) lies under <pods-root>/<uid>/ (or the
//                  same .../var/lib/kubelet/pods/<uid>/ shape under another root) and
//                  <pods-root>/<uid> no longer exists;
//   pod_orphaned — that directory exists but the pod has no cgroup in the node's kubepods
//                  hierarchy (where the node has one).
// pinned_by lists every mount of the watched filesystem still alive, in any namespace.
#pragma once

#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <string>
#include <vector>

#include "leaks/pod_index.h"
#include "paths/node_view.h"
#include "table/watch_table.h"

namespace inotrace {

struct Pin {
  uint64_t mnt_ns = 0;
  uint32_t pid = 0;  // one process in that namespace
  std::string mount_point;
};

// The watch a finding is about: who holds it and what it points at.
struct WatchRef {
  uint32_t pid = 0;
  std::string comm;
  InstanceId instance;
  int32_t wd = 0;
  KernelDev dev;
  uint64_t ino = 0;
  std::string path;  // for a leak: the path that names the pod
  bool path_truncated = false;  // path is "…/" + a tail (paths/marked_paths.h)
  std::shared_ptr<const Workload> holder_workload;  // the holder's own pod and container, if any
  std::shared_ptr<const CreationStack> stack;  // --stacks: the code path that created it, if seen
};

struct Leak : WatchRef {
  std::string pod_uid;
  std::string reason;  // pod_deleted | pod_orphaned
  uint64_t since_mono_ns = 0;  // first evaluation that found it leaked
  std::vector<Pin> pinned_by;
};

struct StaleWatch : WatchRef {
  std::string why;  // "path gone" | "path leads to another inode"
};

class LeakDetector {
 public:
  explicit LeakDetector(PodIndex& pods) : pods_(pods) {}
  // Re-evaluates every watch, unless nothing it depends on changed (the table's generation, the
  // mounts, the pods) and no candidate awaits confirmation. `check_stale` also stats known
  // paths: one slice of at most kStaleSlice watches per call, so a big table costs a bounded
  // number of stats per call and is covered over several calls. A candidate is reported only once it was already a candidate when a
  // snapshot confirmed the table (`confirmed_at`, monotonic ns): on the tracepoint backend a
  // cleanly deleted pod's watches stay in the table until the next reconcile, and must not be
  // called leaks meanwhile. Pass now_mono_ns where events alone keep the table exact.
  // The mounts and the "still the same inode" check come from `node`.
  void evaluate(const WatchTable& table, const NodeView& node, uint64_t now_mono_ns, bool check_stale,
                uint64_t confirmed_at);
  const std::vector<Leak>& leaks() const { return leaks_; }
  const std::vector<StaleWatch>& stale() const { return stale_; }
  size_t leaked_count(const std::string& reason) const;
  // Watches that look leaked but wait for a snapshot to confirm them.
  bool candidates_pending() const { return since_.size() > leaks_.size(); }
  static constexpr size_t kStaleSlice = 5000;

 private:
  void check_stale_slice(const WatchTable& table, const NodeView& node);
  PodIndex& pods_;
  std::vector<Leak> leaks_;
  std::vector<StaleWatch> stale_;
  absl::flat_hash_map<std::pair<uint64_t, int32_t>, StaleWatch> stale_by_watch_;
  uint64_t stale_pass_ = 0;
  uint64_t last_inputs_ = 0;
  absl::flat_hash_map<std::pair<uint64_t, int32_t>, uint64_t> since_;  // (group, wd) -> first seen
};

}  // namespace inotrace
