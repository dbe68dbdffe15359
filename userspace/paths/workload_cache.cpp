#include "paths/workload_cache.h"

#include "util/wall_clock.h"

namespace inotrace {

template <class Key, class Lookup>
std::shared_ptr<const Workload> WorkloadCache::cached(absl::flat_hash_map<Key, Entry>& map, Key key, uint64_t now,
                                                      Lookup lookup) {
  auto it = map.find(key);
  if (it != map.end() && now - it->second.looked_ns < ttl_ns_) return it->second.workload;
  if (map.size() >= kMaxEntries) map.clear();
  std::shared_ptr<const Workload> w = lookup();
  Entry e{w && w->in_pod() ? std::move(w) : nullptr, now};  // events name pods, not host units
  return (map[key] = std::move(e)).workload;
}

// Asked once per event: one coarse clock read (a 5 s lifetime needs no finer one).
std::shared_ptr<const Workload> WorkloadCache::of(uint32_t pid, uint64_t cgroup_id) {
  uint64_t now = WallClock::coarse_monotonic_now_ns();
  if (cgroup_id > 1) {
    auto w = cached(by_cgroup_, cgroup_id, now, [&] { return node_.workload_of_cgroup(cgroup_id); });
    if (w) return w;
  }
  return cached(by_pid_, pid, now, [&] { return node_.workload_of(pid); });
}

}  // namespace inotrace
