// The workload (pod, container, unit) of each process an event names, looked up through the
// node view on first sight and kept a few seconds: a process does not change pods, so a busy
// watcher costs one hash lookup per event, not a /proc read. A pid reused within that time is
// the rare cost.
#pragma once

#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <memory>

#include "paths/node_view.h"

namespace inotrace {

class WorkloadCache {
 public:
  explicit WorkloadCache(const NodeView& node, uint64_t ttl_ns = 5'000'000'000) : node_(node), ttl_ns_(ttl_ns) {}
  // The process's pod and container; nullptr outside pods, or when it is gone.
  std::shared_ptr<const Workload> of(uint32_t pid);

 private:
  struct Entry {
    std::shared_ptr<const Workload> workload;
    uint64_t looked_ns = 0;
  };
  static constexpr size_t kMaxEntries = 65536;  // then start over: exited processes pile up
  const NodeView& node_;
  uint64_t ttl_ns_;
  absl::flat_hash_map<uint32_t, Entry> by_pid_;
};

}  // namespace inotrace
