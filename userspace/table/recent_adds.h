// When events recently added watches and first saw instances, so that a snapshot begun before
// them does not remove what they added (WatchTable::reconcile). Every add notes one, and only
// reconciles ask: the watches' marks are an append-only log, indexed when first asked, so the
// per-event cost is a push_back rather than a hash insert (bench/table_memory).
#pragma once

#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "table/capacity_keeper.h"

namespace inotrace {

class RecentAdds {
 public:
  void note_instance(uint64_t group, uint64_t ts) { instances_[group] = ts; }
  void note_watch(uint64_t group, int32_t wd, uint64_t ts) {
    log_.push_back(Mark{group, ts, wd});
    if (log_.size() >= fold_at_) fold();
  }
  // When the instance was first seen, if since the last forget_before().
  std::optional<uint64_t> instance_seen(uint64_t group) const;
  // Whether an event added (group, wd) at or after t; wd 0: first saw the instance.
  bool since(uint64_t group, int32_t wd, uint64_t t) const;
  // end_of_interval: may resize (see WatchTable::forget_marks_before).
  void forget_before(uint64_t t, bool end_of_interval = true);
  size_t memory_bytes() const;

 private:
  struct Mark {
    uint64_t group, ts;
    int32_t wd;
  };
  // Re-adding one watch in a loop appends a mark each time: past fold_at_ the log is folded
  // to one mark per watch, so it holds no more than the watches recently added (amortized).
  void fold();
  void index_log(uint64_t t) const;
  static constexpr size_t kMinFold = size_t{1} << 20;  // 24 MiB of marks
  size_t fold_at_ = kMinFold;
  std::vector<Mark> log_;
  CapacityKeeper log_capacity_;
  absl::flat_hash_map<uint64_t, uint64_t> instances_;
  CapacityKeeper instances_capacity_;
  // (group, wd) -> latest ts of the marks of log_[0, indexed_) at or after index_floor_:
  // brought up to date by since().
  mutable absl::flat_hash_map<std::pair<uint64_t, int32_t>, uint64_t> index_;
  mutable size_t indexed_ = 0;
  mutable uint64_t index_floor_ = UINT64_MAX;  // the index holds the marks at or after this
};

}  // namespace inotrace
