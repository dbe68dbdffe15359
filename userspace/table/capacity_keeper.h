// When to give back the capacity a pruned container keeps. Erasing keeps what a burst (a million
// adds or removals) left behind, which should go; but what steady churn refills every interval
// should stay (regrowing it each second cost page faults and copies per event). So: kept only
// while this interval and the one before both needed it.
#pragma once

#include <algorithm>
#include <cstddef>

namespace inotrace {

class CapacityKeeper {
 public:
  // At the end of an interval: held, what the container held before this prune erased; capacity,
  // its capacity now. True: shrink it.
  bool give_back(size_t held, size_t capacity) {
    bool shrink = capacity > 64 && std::min(held, held_before_) < capacity / 8;
    held_before_ = held;
    return shrink;
  }

 private:
  size_t held_before_ = 0;
};

}  // namespace inotrace
