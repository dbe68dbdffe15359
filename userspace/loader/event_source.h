// What a trace session needs of the tracer: the kernel's event stream and its counters. The
// Tracer is the real one; unit tests give a session a scripted one.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "events/event.h"
#include "loader/backend.h"

namespace inotrace {

struct TracerCounters {
  uint64_t ringbuf_drops = 0;    // records lost because the ring buffer was full
  uint64_t pending_full = 0;     // syscalls not tracked: no room for their per-thread state
  uint64_t group_unresolved = 0; // fds that did not lead to an inotify instance
  uint64_t decode_errors = 0;    // records that failed ABI validation in userspace
  uint64_t groups_entered = 0;   // entries written to the kernel's instance-sequence map
  uint64_t groups_full = 0;      // instances that got no sequence number: that map was full
};

class EventSource {
 public:
  // The event is the source's own, reused for the next one: the callee may change it (a trace
  // completes its path in place) but must copy what it keeps.
  using Callback = std::function<void(Event&)>;
  virtual ~EventSource() = default;

  virtual Backend backend() const = 0;
  // Waits up to timeout_ms, hands every event to cb; returns events handled. Not reentrant:
  // cb must not poll or drain the same source.
  virtual int poll(int timeout_ms, const Callback& cb) = 0;
  // Every event already waiting, without blocking; returns events handled.
  virtual int drain(const Callback& cb) = 0;
  virtual TracerCounters counters() const = 0;
  // Waits up to timeout_ms for events without handing them over: lets a caller wait without
  // its locks.
  virtual void wait(int timeout_ms) = 0;
  // Most recent decode error, for diagnostics.
  virtual const std::string& last_decode_error() const = 0;
  // The instances' sequence numbers kept in the kernel, where only the caller can tell which
  // instances have ended (loader/tracer.h). A scripted source keeps none.
  virtual bool groups_need_collection() const { return false; }
  virtual size_t collect_dead_groups(const std::vector<uint64_t>& /*live*/, uint64_t /*snapshot_began_ns*/) { return 0; }
  virtual size_t forget_oldest_groups() { return 0; }
};

}  // namespace inotrace
