#include "table/tombstones.h"

#include <algorithm>

namespace inotrace {

template <class Instance>
auto* Tombstones::in_order_entry(Instance& in, int32_t wd) {
  auto it = std::lower_bound(in.in_order.begin(), in.in_order.end(), wd,
                             [](const Removal& r, int32_t w) { return r.wd < w; });
  return it != in.in_order.end() && it->wd == wd && it->ts != kErased ? &*it : nullptr;
}

void Tombstones::note(uint64_t group, int32_t wd, uint64_t ts) {
  if (wd == 0) {
    closed_[group] = ts;
    return;
  }
  OfInstance& in = removals_[group];
  if (in.in_order.empty() || wd > in.in_order.back().wd) {
    in.in_order.push_back({wd, ts});
    if (in.out_of_order) in.out_of_order->erase(wd);  // noted before a forget cut in_order short
  } else {
    if (Removal* r = in_order_entry(in, wd)) r->ts = kErased;  // superseded: one live note per key
    if (!in.out_of_order) in.out_of_order = std::make_unique<absl::flat_hash_map<int32_t, uint64_t>>();
    (*in.out_of_order)[wd] = ts;
  }
  in.top_wd = std::max(in.top_wd, wd);
}

std::optional<uint64_t> Tombstones::find(uint64_t group, int32_t wd) const {
  if (wd == 0) {
    auto it = closed_.find(group);
    return it == closed_.end() ? std::nullopt : std::optional<uint64_t>(it->second);
  }
  auto it = removals_.find(group);
  if (it == removals_.end() || wd > it->second.top_wd) return std::nullopt;
  const OfInstance& in = it->second;
  if (in.out_of_order)
    if (auto o = in.out_of_order->find(wd); o != in.out_of_order->end()) return o->second;
  const Removal* r = in_order_entry(in, wd);
  return r ? std::optional<uint64_t>(r->ts) : std::nullopt;
}

void Tombstones::erase(uint64_t group, int32_t wd) {
  if (wd == 0) {
    closed_.erase(group);
    return;
  }
  auto it = removals_.find(group);
  if (it == removals_.end()) return;
  OfInstance& in = it->second;
  if (in.out_of_order) in.out_of_order->erase(wd);
  if (Removal* r = in_order_entry(in, wd)) r->ts = kErased;  // in place: no shift
}

void Tombstones::forget_before(uint64_t t, bool end_of_interval) {
  size_t held_closed = closed_.size(), held_removals = removals_.size();
  absl::erase_if(closed_, [t](const auto& kv) { return kv.second < t; });
  absl::erase_if(removals_, [&](auto& kv) {
    OfInstance& in = kv.second;
    size_t held = in.in_order.size();
    std::erase_if(in.in_order, [t](const Removal& r) { return r.ts < t || r.ts == kErased; });
    if (end_of_interval && in.capacity.give_back(held, in.in_order.capacity())) in.in_order.shrink_to_fit();
    in.top_wd = in.in_order.empty() ? 0 : in.in_order.back().wd;
    if (in.out_of_order) {
      absl::erase_if(*in.out_of_order, [t](const auto& o) { return o.second < t; });
      if (in.out_of_order->empty()) in.out_of_order.reset();
      else for (const auto& [wd, ts] : *in.out_of_order) in.top_wd = std::max(in.top_wd, wd);
    }
    return in.in_order.empty() && !in.out_of_order;
  });
  if (end_of_interval) {
    if (closed_capacity_.give_back(held_closed, closed_.capacity())) closed_.rehash(0);
    if (removals_capacity_.give_back(held_removals, removals_.capacity())) removals_.rehash(0);
  }
}

size_t Tombstones::memory_bytes() const {
  size_t bytes = closed_.capacity() * (2 * sizeof(uint64_t) + 1) +
                 removals_.capacity() * (sizeof(uint64_t) + sizeof(OfInstance) + 1);
  for (const auto& [g, in] : removals_) {
    bytes += in.in_order.capacity() * sizeof(Removal);
    if (in.out_of_order) bytes += in.out_of_order->capacity() * (sizeof(int32_t) + sizeof(uint64_t) + 1);
  }
  return bytes;
}

}  // namespace inotrace
