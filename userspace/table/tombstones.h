// When events recently removed watches and closed instances, so that neither an add that
// reached the stream after its own removal (hooked backends: another CPU) nor a snapshot begun
// before the removal brings the watch back (WatchTable). Every removal notes one; few are ever
// asked for. The kernel hands out an instance's wds in increasing order, so removals arrive in
// wd order as a rule: those are appended to their instance's sorted vector (in cache), where a
// hash map keyed by (instance, wd) took a cache miss per removal (perf: a tenth of `trace`'s
// CPU under churn). The rest (a wd at or below the last appended) go to a small map of their
// instance's, so no note, lookup or erase ever sorts or shifts a vector, whatever the order.
#pragma once

#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <memory>
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
  size_t memory_bytes() const;

 private:
  static constexpr uint64_t kErased = UINT64_MAX;  // an in-order note taken back (kept in place)
  struct Removal {
    int32_t wd;
    uint64_t ts;
  };
  struct OfInstance {
    std::vector<Removal> in_order;  // strictly increasing wd
    // A wd's latest note when it came out of order; none of these wds is in in_order after it.
    std::unique_ptr<absl::flat_hash_map<int32_t, uint64_t>> out_of_order;
    int32_t top_wd = 0;  // the highest wd noted: an add above it needs no search
    CapacityKeeper capacity;
  };
  // wd's live entry in in_order (const or not, as `in`), or nullptr.
  template <class Instance>
  static auto* in_order_entry(Instance& in, int32_t wd);
  absl::flat_hash_map<uint64_t, uint64_t> closed_;  // group -> when it closed (wd 0)
  CapacityKeeper closed_capacity_;
  absl::flat_hash_map<uint64_t, OfInstance> removals_;
  CapacityKeeper removals_capacity_;
};

}  // namespace inotrace
