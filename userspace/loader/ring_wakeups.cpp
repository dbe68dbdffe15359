#include "loader/ring_wakeups.h"

#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/error.h"

namespace inotrace {

RingWakeups::RingWakeups(int ring_fd, volatile uint32_t* waiting)
    : waiting_(waiting), page_((size_t)sysconf(_SC_PAGESIZE)) {
  // libbpf keeps its own mapping of these pages but (1.1) no way to read the producer's.
  positions_ = mmap(nullptr, 2 * page_, PROT_READ, MAP_SHARED, ring_fd, 0);
  if (positions_ == MAP_FAILED) {
    positions_ = nullptr;
    throw Error(fmt::format("cannot map the ring buffer's positions: {}", strerror(errno)));
  }
}

RingWakeups::~RingWakeups() {
  if (positions_) munmap(positions_, 2 * page_);
}

bool RingWakeups::pending() const {
  auto* consumer = static_cast<const uint64_t*>(positions_);
  auto* producer = reinterpret_cast<const uint64_t*>(static_cast<const char*>(positions_) + page_);
  return __atomic_load_n(producer, __ATOMIC_ACQUIRE) != __atomic_load_n(consumer, __ATOMIC_ACQUIRE);
}

bool RingWakeups::arm() {
  __atomic_store_n(waiting_, 1u, __ATOMIC_SEQ_CST);
  // The store before the look at the ring, as the programs read the flag after their commit:
  // either this look sees a record, or that record's program sees the flag.
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  return !pending();
}

void RingWakeups::disarm() { __atomic_store_n(waiting_, 0u, __ATOMIC_RELAXED); }

}  // namespace inotrace
