#include "table/recent_adds.h"

#include <algorithm>
#include <tuple>

namespace inotrace {

std::optional<uint64_t> RecentAdds::instance_seen(uint64_t group) const {
  auto it = instances_.find(group);
  if (it == instances_.end()) return std::nullopt;
  return it->second;
}

// Only marks at or after `t` are indexed: a reconcile asks about the few added since its
// snapshot began, not the second of churn before it (indexing all of it cost a hash insert per
// add). A question reaching further back indexes again from there.
void RecentAdds::index_log(uint64_t t) const {
  if (t < index_floor_) {
    index_.clear();
    indexed_ = 0;
    index_floor_ = t;
  }
  for (; indexed_ < log_.size(); indexed_++) {
    const Mark& m = log_[indexed_];
    if (m.ts < index_floor_) continue;
    uint64_t& ts = index_[{m.group, m.wd}];
    ts = std::max(ts, m.ts);  // an update re-adds: the latest counts
  }
}

// In place and without allocating (a hash map of a million marks paused the event loop for
// half a second): sorted by watch, latest first, one mark kept per watch.
void RecentAdds::fold() {
  std::sort(log_.begin(), log_.end(), [](const Mark& a, const Mark& b) {
    return std::tie(a.group, a.wd, b.ts) < std::tie(b.group, b.wd, a.ts);
  });
  log_.erase(std::unique(log_.begin(), log_.end(),
                         [](const Mark& a, const Mark& b) { return a.group == b.group && a.wd == b.wd; }),
             log_.end());
  index_ = {};  // its positions named the unsorted log
  indexed_ = 0;
  index_floor_ = UINT64_MAX;
  fold_at_ = std::max(kMinFold, 2 * log_.size());
}

bool RecentAdds::since(uint64_t group, int32_t wd, uint64_t t) const {
  if (wd == 0) {
    auto seen = instance_seen(group);
    return seen && *seen >= t;
  }
  index_log(t);
  auto it = index_.find({group, wd});
  return it != index_.end() && it->second >= t;
}

void RecentAdds::forget_before(uint64_t t, bool end_of_interval) {
  size_t held = log_.size(), held_instances = instances_.size();  // what this interval needed
  std::erase_if(log_, [t](const Mark& m) { return m.ts < t; });
  absl::erase_if(instances_, [t](const auto& kv) { return kv.second < t; });
  if (end_of_interval) {
    if (log_capacity_.give_back(held, log_.capacity())) log_.shrink_to_fit();
    if (instances_capacity_.give_back(held_instances, instances_.capacity())) instances_.rehash(0);
  }
  index_ = {};
  indexed_ = 0;
  index_floor_ = UINT64_MAX;
  fold_at_ = std::max(kMinFold, 2 * log_.size());
}

size_t RecentAdds::memory_bytes() const {
  return log_.capacity() * sizeof(Mark) + instances_.capacity() * (2 * sizeof(uint64_t) + 1) +
         index_.capacity() * (sizeof(std::pair<uint64_t, int32_t>) + 8 + 1);
}

}  // namespace inotrace
