// The workload (pod, container) of each task an event names, looked up through the node view
// on first sight and kept a few seconds: a busy watcher costs one hash lookup per event, not a
// /proc read. By the cgroup id the event carries first: the kernel's answer at the moment of
// the call, still right after the task exited or its pid was reused. By pid where the id names
// no pod (a v1-only host, whose events all carry the root's id; a hybrid host whose unified
// hierarchy follows systemd).
#pragma once

#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <memory>
#include <optional>

#include "paths/node_view.h"

namespace inotrace {

class WorkloadCache {
 public:
  // ttl_ns: how long an answer stands, on the coarse clock (exact to a tick, 1-4 ms) and counted
  // from before the lookup, so a slow lookup's answer lives that much less. now_ns: that clock
  // (tests step their own).
  using Clock = uint64_t (*)();
  explicit WorkloadCache(const NodeView& node, uint64_t ttl_ns = 5'000'000'000, Clock now_ns = nullptr);
  // The process's pod and container; nullptr outside pods, or when it is gone.
  std::shared_ptr<const Workload> of(uint32_t pid, uint64_t cgroup_id);

 private:
  struct Entry {
    std::shared_ptr<const Workload> workload;
    uint64_t looked_ns = 0;
  };
  static constexpr size_t kMaxEntries = 65536;  // then start over: exited processes pile up
  const NodeView& node_;
  uint64_t ttl_ns_;
  Clock now_ns_;
  struct Last {
    uint32_t pid;
    uint64_t cgroup_id;
    uint64_t looked_ns;
    std::shared_ptr<const Workload> workload;
  };
  template <class Key, class Lookup>
  const Entry& cached(absl::flat_hash_map<Key, Entry>& map, Key key, uint64_t now, Lookup lookup);
  absl::flat_hash_map<uint32_t, Entry> by_pid_;
  absl::flat_hash_map<uint64_t, Entry> by_cgroup_;
  std::optional<Last> last_;  // the previous answer, its key and its lookup's time
};

}  // namespace inotrace
