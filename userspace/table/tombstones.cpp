#include "table/tombstones.h"

#include <algorithm>

namespace inotrace {

void Tombstones::note(uint64_t group, int32_t wd, uint64_t ts) {
  OfInstance& in = by_group_[group];
  size_++;
  if (wd == 0) {
    size_ -= in.closed.has_value();
    in.closed = ts;
    return;
  }
  if (!in.removals.empty() && wd <= in.removals.back().wd) in.sorted = false;
  in.removals.push_back({wd, ts});
  in.top_wd = std::max(in.top_wd, wd);
}

// The last of wd's notes (sorting first, stably, when removals arrived out of wd order).
const Tombstones::Removal* Tombstones::latest(const OfInstance& in, int32_t wd) {
  if (wd > in.top_wd) return nullptr;
  if (!in.sorted) {
    std::stable_sort(in.removals.begin(), in.removals.end(),
                     [](const Removal& a, const Removal& b) { return a.wd < b.wd; });
    in.sorted = true;
  }
  auto end = std::upper_bound(in.removals.begin(), in.removals.end(), wd,
                              [](int32_t w, const Removal& r) { return w < r.wd; });
  if (end == in.removals.begin() || std::prev(end)->wd != wd) return nullptr;
  return &*std::prev(end);
}

std::optional<uint64_t> Tombstones::find(uint64_t group, int32_t wd) const {
  auto it = by_group_.find(group);
  if (it == by_group_.end()) return std::nullopt;
  if (wd == 0) return it->second.closed;
  const Removal* r = latest(it->second, wd);
  return r ? std::optional<uint64_t>(r->ts) : std::nullopt;
}

void Tombstones::erase(uint64_t group, int32_t wd) {
  auto it = by_group_.find(group);
  if (it == by_group_.end()) return;
  OfInstance& in = it->second;
  if (wd == 0) {
    size_ -= in.closed.has_value();
    in.closed.reset();
  } else if (latest(in, wd)) {  // sorted now: wd's notes are one run
    auto [from, to] = std::equal_range(in.removals.begin(), in.removals.end(), Removal{wd, 0},
                                       [](const Removal& a, const Removal& b) { return a.wd < b.wd; });
    size_ -= static_cast<size_t>(to - from);
    in.removals.erase(from, to);
  }
  if (!in.closed && in.removals.empty()) by_group_.erase(it);
}

void Tombstones::forget_before(uint64_t t, bool end_of_interval) {
  size_t held = by_group_.size();
  size_ = 0;
  absl::erase_if(by_group_, [&](auto& kv) {
    OfInstance& in = kv.second;
    if (in.closed && *in.closed < t) in.closed.reset();
    size_t held_here = in.removals.size();
    std::erase_if(in.removals, [t](const Removal& r) { return r.ts < t; });
    if (end_of_interval && in.capacity.give_back(held_here, in.removals.capacity())) in.removals.shrink_to_fit();
    in.top_wd = 0;
    for (const Removal& r : in.removals) in.top_wd = std::max(in.top_wd, r.wd);
    size_ += in.removals.size() + in.closed.has_value();
    return !in.closed && in.removals.empty();
  });
  if (end_of_interval && groups_capacity_.give_back(held, by_group_.capacity())) by_group_.rehash(0);
}

size_t Tombstones::memory_bytes() const {
  size_t bytes = by_group_.capacity() * (sizeof(uint64_t) + sizeof(OfInstance) + 1);
  for (const auto& [g, in] : by_group_) bytes += in.removals.capacity() * sizeof(Removal);
  return bytes;
}

}  // namespace inotrace
