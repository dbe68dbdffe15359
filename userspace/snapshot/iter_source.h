// Snapshot source A: the BPF iterator (bpf/snapshot_iter.bpf.c). Loads once, runs many times
// (the reconciler takes one per interval).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "loader/inotify_identity.h"
#include "loader/preflight.h"
#include "snapshot/snapshot.h"

namespace inotrace {

struct IterSourceOptions {
  // Watch records in flight, drained by a thread that only copies them. Mapped twice while a
  // run sends watches, so it is resident twice: 2 MiB = 4 MB of RSS. A consumer that falls
  // behind pauses the walk (pause_when_full). 2 MiB holds ~12 ms of the walk's output at 100k
  // watches; with both CPUs busy with other work no run dropped even at 1 MiB. 8 MiB was
  // slower (166 against 147-155 ms for --json at 100k): every page of the ring is touched once
  // per run, and fewer pages cost fewer first touches, on a paravirtualised guest above all.
  uint32_t ringbuf_bytes = 2u << 20;
  // The walk pauses where the ring has no room for one more record and goes on once the
  // consumer drained it (bpf/snapshot_iter.bpf.c, pause_above). False: records that find the
  // ring full are dropped, and the instances they belong to flagged truncated and re-read from
  // fdinfo (SnapshotTaker), never lost: tests of that path.
  bool pause_when_full = true;
  // Tests: called on the reading thread each time read() says the walk paused, with the kernel
  // address of the instance it paused in (what a test closes a holder at).
  std::function<void(uint64_t paused_group)> on_pause_for_test;
  // Tests: the consumer drains only while the walk waits for room, and once it ended: the
  // slowest a consumer can be, whatever the scheduler does, so every run fills the ring to
  // the pause threshold (a consumer that merely slept could be outrun by a preempted walk).
  bool consumer_drains_only_when_asked_for_test = false;
  // False where no run needs the kernel to name targets (the summary views): the loaded walk
  // then has no dentry walk, whose verification is most of a short command's start-up.
  // take(true) then names targets from fdinfo's file handles, which cannot name unlinked
  // targets nor those on filesystems without file handles (sysfs): open with paths for paths.
  bool paths = true;
  // False: every watch's path is walked whole, none sent as a sibling of the previous one
  // (tests compare the two).
  bool sibling_paths = true;
  // The walk with paths reads kernel objects with typed loads where the running kernel has
  // bpf_rdonly_cast (loader/typed_reads.h); false: probe reads (tests compare the two).
  bool typed_reads = true;
  // Tests: the typed walk's casts linked to this kernel function instead of bpf_rdonly_cast
  // (one that is no kfunc makes the verifier refuse the walk, to show the fallback).
  int typed_cast_func_for_test = 0;
};

class IterSource {
 public:
  // Throws inotrace::Error when the kernel cannot load the iterator (e.g. < 5.8).
  IterSource(const KernelFacts& facts, const IterSourceOptions& opts = {});
  ~IterSource();
  IterSource(const IterSource&) = delete;
  IterSource& operator=(const IterSource&) = delete;

  // Every instance and watch now. Instances whose marks could not all be read (ring buffer
  // full, kernel without bpf_loop) come back with truncated = true.
  Snapshot take(bool with_paths);
  // Every instance with its holders and a digest of its watches instead of the watches: the
  // kernel walks the marks but nothing per watch crosses to userspace.
  Snapshot take_digests();
  // Instances, holders and their users' watch counts (the kernel's ucounts): no mark is read.
  Snapshot take_counts();
  // True where the kernel lacks bpf_loop: the bounded walk reads no paths and at most 256
  // watches per instance (SnapshotTaker completes both from fdinfo).
  bool bounded() const;
  // False for the bounded walk and for a source opened without paths: SnapshotTaker names the
  // targets from fdinfo.
  bool names_targets() const;
  // Whether the loaded walk reads kernel objects with typed loads.
  bool typed_reads() const;
  // What identifies inotify objects on this kernel, and how it was found.
  const InotifyIdentity& identity() const;
  // Entries in the kernel's table of instances walked (one per instance the last run saw;
  // tests hold that it never keeps vanished ones).
  size_t remembered_instances() const;
  // Watch records of the last run whose path the kernel sent as a leaf name under the previous
  // record's parent (INOTRACE_F_PATH_SIBLING; tests hold the shortcut is taken, and exact).
  uint64_t sibling_paths() const;
  // Places the last run's walk paused at for room in its ring buffer (pause_when_full). A
  // walk that pauses again at its resumption, before any mark, counts once: so does one whose
  // read() ended with other files before the pause was waited for.
  uint64_t pauses() const;
  // Marks the walk goes between two reads of its ring's fill (pause_when_full; 1 to 32).
  uint32_t fill_read_every() const;

 private:
  Snapshot run(bool with_paths, bool digests_only, bool counts_only = false);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace inotrace
