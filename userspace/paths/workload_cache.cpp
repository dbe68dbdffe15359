#include "paths/workload_cache.h"

#include "util/wall_clock.h"

namespace inotrace {

std::shared_ptr<const Workload> WorkloadCache::of(uint32_t pid) {
  uint64_t now = WallClock::monotonic_now_ns();
  auto it = by_pid_.find(pid);
  if (it != by_pid_.end() && now - it->second.looked_ns < ttl_ns_) return it->second.workload;
  if (by_pid_.size() >= kMaxEntries) by_pid_.clear();
  std::shared_ptr<const Workload> w = node_.workload_of(pid);
  Entry e{w && w->in_pod() ? std::move(w) : nullptr, now};  // events name pods, not host units
  return (by_pid_[pid] = std::move(e)).workload;
}

}  // namespace inotrace
