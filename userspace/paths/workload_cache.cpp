#include "paths/workload_cache.h"

#include <algorithm>

#include "util/wall_clock.h"

namespace inotrace {

WorkloadCache::WorkloadCache(const NodeView& node, uint64_t ttl_ns, Clock now_ns)
    : node_(node), ttl_ns_(ttl_ns), now_ns_(now_ns ? now_ns : &WallClock::coarse_monotonic_now_ns) {}

template <class Key, class Lookup>
const WorkloadCache::Entry& WorkloadCache::cached(absl::flat_hash_map<Key, Entry>& map, Key key, uint64_t now,
                                                  Lookup lookup) {
  auto it = map.find(key);
  if (it != map.end() && now - it->second.looked_ns < ttl_ns_) return it->second;
  if (map.size() >= kMaxEntries) map.clear();
  std::shared_ptr<const Workload> w = lookup();
  Entry e{w && w->in_pod() ? std::move(w) : nullptr, now};  // events name pods, not host units
  return map[key] = std::move(e);
}

// Asked once per event: one coarse clock read (a 5 s lifetime needs no finer one).
std::shared_ptr<const Workload> WorkloadCache::of(uint32_t pid, uint64_t cgroup_id) {
  uint64_t now = now_ns_();
  // A stream's events come in runs from one process: its answer again, with no hash lookup.
  if (last_ && last_->pid == pid && last_->cgroup_id == cgroup_id && now - last_->looked_ns < ttl_ns_)
    return last_->workload;
  uint64_t looked_ns = UINT64_MAX;  // the oldest answer this one rests on: it expires first
  if (cgroup_id > 1) {
    const Entry& by_cgroup = cached(by_cgroup_, cgroup_id, now, [&] { return node_.workload_of_cgroup(cgroup_id); });
    if (by_cgroup.workload) {
      last_ = Last{pid, cgroup_id, by_cgroup.looked_ns, by_cgroup.workload};
      return by_cgroup.workload;
    }
    looked_ns = by_cgroup.looked_ns;  // no pod yet: asked again when this answer expires
  }
  const Entry& by_pid = cached(by_pid_, pid, now, [&] { return node_.workload_of(pid); });
  last_ = Last{pid, cgroup_id, std::min(looked_ns, by_pid.looked_ns), by_pid.workload};
  return by_pid.workload;
}

}  // namespace inotrace
