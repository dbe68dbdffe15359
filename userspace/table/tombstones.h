// When events recently removed watches and closed instances, so that neither an add that
// reached the stream after its own removal (hooked backends: another CPU) nor a snapshot begun
// before the removal brings the watch back (WatchTable). Every removal notes one; few are ever
// asked for. Kept per instance in arrival order, which is wd order as a rule (the kernel hands
// out an instance's wds in increasing order): a removal costs an append to a vector already in
// cache, where a hash map keyed by (instance, wd) took a cache miss per removal (perf: a tenth
// of `trace`'s CPU under churn).
#pragma once

#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "table/capacity_keeper.h"

namespace inotrace {

class Tombstones {
 public:
  // (group, wd) removed at ts; wd 0: the instance closed. A later note for the same key wins.
  void note(uint64_t group, int32_t wd, uint64_t ts);
  // When (group, wd) was last noted, if since the last forget_before() and not erased.
  std::optional<uint64_t> find(uint64_t group, int32_t wd) const;
  void erase(uint64_t group, int32_t wd);
  // Forgets what was noted before t. end_of_interval: may give back capacity (see
  // WatchTable::forget_marks_before).
  void forget_before(uint64_t t, bool end_of_interval);
  size_t size() const { return size_; }
  size_t memory_bytes() const;

 private:
  struct Removal {
    int32_t wd;
    uint64_t ts;
  };
  struct OfInstance {
    std::optional<uint64_t> closed;
    // Sorted by wd (stable: a key's latest note last) once `sorted`; appended to until asked.
    mutable std::vector<Removal> removals;
    mutable bool sorted = true;
    int32_t top_wd = 0;  // the highest wd in removals: an add above it needs no search
    CapacityKeeper capacity;
  };
  static const Removal* latest(const OfInstance& in, int32_t wd);
  absl::flat_hash_map<uint64_t, OfInstance> by_group_;
  size_t size_ = 0;
  CapacityKeeper groups_capacity_;
};

}  // namespace inotrace
