// A live tracing session: checks the host, chooses a backend by trial attach, loads the CO-RE
// object with the user's filters, attaches it and streams decoded events from the ring buffer.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "events/event.h"
#include "loader/backend.h"
#include "loader/event_source.h"
#include "loader/inotify_identity.h"
#include "loader/preflight.h"

namespace inotrace {

struct TraceFilters {
  std::optional<uint32_t> pid;  // tgid
  std::optional<uint32_t> uid;
  std::optional<uint64_t> cgroup_id;
  std::optional<std::string> comm;  // exact, as in /proc/PID/comm (15 bytes max)
};

struct TracerOptions {
  TraceFilters filters;
  std::optional<Backend> backend;     // nullopt = auto
  uint32_t ringbuf_bytes = 8u << 20;  // power of two, multiple of the page size
  std::string btf_path;               // empty = /sys/kernel/btf/vmlinux
  // Receives progress and diagnostics (backend choice, each probe's outcome with verbose).
  std::function<void(const std::string&)> log;
  bool verbose = false;
  bool capture_stacks = false;  // --stacks: adds carry the creating user stack
  // The caller will call collect_dead_groups() from whole-box snapshots. Where the kernel allows
  // it without a warning (6.1+), the instances' sequence map then grows on demand instead of
  // being a preallocated LRU: creating that LRU cost ~9 ms of a 2-core node's start-up.
  bool dead_groups_collected = false;
  // The tracepoint programs read kernel objects with typed loads where the kernel can
  // (loader/typed_reads.h); false: probe reads everywhere (tests compare the two). Where the
  // kernel's verifier rejects the typed programs, the tracer loads the probed ones instead and
  // says so through `log`.
  bool typed_reads = true;
  // Tests only: > 0 links the typed casts to this kernel function id instead of bpf_rdonly_cast,
  // which the verifier rejects, so that the fallback above is taken on a kernel that has it.
  int typed_cast_func_for_test = 0;
};

struct ProgramSpec;  // loader/program_table.h

class Tracer : public EventSource {
 public:
  explicit Tracer(const TracerOptions& opts);  // throws inotrace::Error with one clear line
  ~Tracer() override;
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  Backend backend() const override;
  const KernelFacts& facts() const;  // what preflight found (BTF, kernel symbols)
  const InotifyIdentity& identity() const;  // what identifies inotify objects, and how it was found
  // False on fentry where the kernel's BTF hides syscall arguments: adds then carry no fd, and
  // failures before inotify_update_watch (ENOENT, EACCES, EINVAL) are not seen.
  bool reports_syscall_args() const;
  // Whether the loaded programs read kernel objects with typed loads (loader/typed_reads.h).
  bool typed_reads() const;
  const BackendChoice& choice() const;
  // Whether the instances' sequence map is the on-demand kind, which nothing ages: on the
  // tracepoint backend no hook sees an instance's end, and the kprobe backend's kretprobe on
  // fsnotify_destroy_group can miss some under many concurrent closes. Only
  // collect_dead_groups() empties it then.
  bool groups_need_collection() const override;
  // Forgets the sequence of every instance not in `live` (the groups of a whole-box snapshot
  // begun at `snapshot_began_ns`, CLOCK_MONOTONIC) that was created before the snapshot began
  // (or predates the tracer): such an instance had closed. Returns how many were forgotten.
  size_t collect_dead_groups(const std::vector<uint64_t>& live, uint64_t snapshot_began_ns) override;
  // Where no snapshot can tell which instances ended: forgets the older half of the entries
  // (by creation), as an LRU would evict. Returns how many.
  size_t forget_oldest_groups() override;
  // The sequence number the kernel holds for an instance (its group pointer), if any.
  std::optional<uint64_t> group_seq(uint64_t group) const;
  // Waits up to timeout_ms, hands every decoded event to cb; returns events handled.
  int poll(int timeout_ms, const Callback& cb) override;
  // Hands over what is already buffered, without waiting. Throws Error should the ring fail.
  int drain(const Callback& cb) override;
  // Waits up to timeout_ms for a record, without reading it: lets a caller wait without its
  // locks. The programs wake it (ring_wakeups.h).
  void wait(int timeout_ms) override;
  TracerCounters counters() const override;
  // Most recent decode error, for diagnostics.
  const std::string& last_decode_error() const override;

 private:
  using Log = std::function<void(const std::string&)>;
  void start(const TracerOptions& opts, const Log& log);
  void choose_backend_for(const TracerOptions& opts, const void* elf, size_t elf_size, const Log& log);
  std::vector<const ProgramSpec*> programs_for(Backend backend, const Log& log, bool want_typed_reads);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Validates a ring-buffer size given by the user; throws Error on a bad one.
uint32_t checked_ringbuf_size(uint64_t bytes);

}  // namespace inotrace
