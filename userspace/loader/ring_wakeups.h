// Wake-ups of the live events' consumer on demand. The programs commit records without waking
// anyone (BPF_RB_NO_WAKEUP): the kernel's default raised an irq_work, a self-IPI inside the
// traced syscall, whenever the consumer had caught up, also while it was busy or gathering a
// batch (Tracer::poll). The consumer asks for a wake-up only when it is about to block: it
// sets `consumer_waiting` (the programs' .bss), then looks at the ring once more; every record
// committed after that wakes it (maps.bpf.h: wakeup_flag, and for a record written while the
// consumer asked, wake_consumer_that_asked_meanwhile) until it clears the flag, once awake.
#pragma once

#include <cstddef>
#include <cstdint>

namespace inotrace {

class RingWakeups {
 public:
  // ring_fd: the BPF ring buffer; waiting: the programs' flag, in their mmap-ed .bss. Throws
  // Error when the ring's positions cannot be mapped.
  RingWakeups(int ring_fd, volatile uint32_t* waiting);
  ~RingWakeups();
  RingWakeups(const RingWakeups&) = delete;
  RingWakeups& operator=(const RingWakeups&) = delete;

  // Asks for a wake-up by the next record; true when the ring holds none yet, so the caller
  // may block. False also for a record reserved but not committed yet (the kernel's poll
  // counts such records too): the caller does not block, and Tracer::wait, right after a
  // drain that read nothing, disarms and naps a millisecond rather than read again at once.
  bool arm();
  // Stops asking (back from the wait, or not waiting after all): the programs only read the
  // flag, so until then every record wakes the consumer.
  void disarm();

 private:
  // Whether a record (or a wake-up) waits to be read.
  bool pending() const;

  volatile uint32_t* waiting_;
  void* positions_ = nullptr;  // the consumer's page, then the producer's: read-only
  size_t page_ = 0;
};

}  // namespace inotrace
