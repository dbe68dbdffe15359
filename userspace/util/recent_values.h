// The last few values computed for a key, kept round-robin: an event stream repeats a handful
// of masks and instances, and recomputing their text per event was a measurable share of a line.
#pragma once

#include <array>
#include <cstddef>

namespace inotrace {

template <class Key, class Value, size_t N = 4>
class RecentValues {
 public:
  // The kept value for key; otherwise make(key, value) fills the oldest slot, which is returned.
  // key may be of another type than Key (compared with ==, Key made from it only on a miss):
  // a probe that is cheaper to compare than to copy.
  template <class Probe = Key, class Make>
  const Value& get(const Probe& key, Make make) {
    for (const Slot& s : slots_)
      if (s.filled && s.key == key) return s.value;
    Slot& s = slots_[next_++ % N];
    s.key = Key(key), s.filled = true;
    make(key, s.value);
    return s.value;
  }

 private:
  struct Slot {
    Key key{};
    Value value{};
    bool filled = false;
  };
  std::array<Slot, N> slots_{};
  size_t next_ = 0;
};

}  // namespace inotrace
