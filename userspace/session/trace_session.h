// A tracing session that keeps a complete watch table: hooks attached first (events buffer in
// the ring buffer), then a snapshot seeds the table, then events keep it current. The stream
// starts at the hooks' attach: what they saw while the snapshot was taken comes out first. On the
// tracepoint backend — where most removals have no hook — and after any drop, periodic
// snapshots are reconciled against the table and what the hooks missed comes out as events
// marked from_snapshot.
#pragma once

#include <absl/container/flat_hash_set.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "loader/tracer.h"
#include "paths/event_paths.h"
#include "paths/node_view.h"
#include "paths/workload_cache.h"
#include "snapshot/aggregate.h"
#include "snapshot/snapshot_provider.h"
#include "snapshot/snapshot_taker.h"
#include "stacks/stack_resolver.h"
#include "table/watch_table.h"
#include "util/rate_limited_count.h"

namespace inotrace {

struct SessionOptions {
  TracerOptions tracer;
  // Seconds between reconciliations; 0 = never. Applies on the tracepoint backend, or on any
  // backend with reconcile_all_backends; drops always trigger one.
  double reconcile_interval_s = 1.0;
  bool reconcile_all_backends = false;
  // At rest (no event, and the kernel's digests agree with the table) double the interval
  // twice: 4x at most. For the daemon; hurry() undoes it when something awaits a snapshot.
  bool back_off_when_idle = false;
  double hooked_reconcile_interval_s = 30;  // with reconcile_all_backends on fentry/kprobe
  SnapshotSource snapshot_source = SnapshotSource::Auto;
  bool seed = true;  // take the initial snapshot (the table starts with what exists)
  // Where the tracer keeps instances' sequence numbers until told which ended (tracepoint
  // backend, 6.1+): collect after this many were written (the kernel's map holds 65,536).
  uint64_t collect_groups_every = 16384;
  RuntimeStateDirs runtime;  // where pods and containers are named (a default node view's)
};

struct SessionCounters {
  TracerCounters tracer;
  ReconcileStats corrections;  // summed over every reconcile
  uint64_t reconciles = 0;       // full snapshots compared with the table
  uint64_t digest_checks = 0;    // cheaper count or digest snapshots that found nothing to reconcile
  uint64_t resnapshots_after_drops = 0;
  uint64_t dead_groups_collected = 0;  // ended instances' sequence numbers the kernel was told to forget
  uint64_t group_collections_skipped = 0;  // no iterator snapshot, or one with warnings: nothing forgotten
};

class TraceSession {
 public:
  using Callback = std::function<void(const Event&)>;
  using Log = std::function<void(const std::string&)>;

  // Takes the session's node view: a full snapshot refreshes its mount tables.
  using SnapshotFactory = std::function<std::unique_ptr<SnapshotProvider>(NodeView&)>;
  // Where events, snapshots and the node's mount tables come from.
  struct Sources {
    std::unique_ptr<EventSource> events;
    SnapshotFactory snapshots;  // called when the first snapshot is needed
    std::unique_ptr<NodeView> node;  // null: a ProcNodeView over /proc
  };

  // The real ones: the tracer (BPF programs attached now) and a SnapshotTaker.
  TraceSession(const SessionOptions& opts, Log log);
  // Given ones (unit tests script both).
  TraceSession(const SessionOptions& opts, Log log, Sources sources);
  ~TraceSession();

  // Events as they come (paths completed, removals named with their add-time path), then any
  // reconcile that is due; returns the number delivered.
  int poll(int timeout_ms, const Callback& cb);
  // Takes a snapshot now and delivers the differences. Unless `full`, a digest snapshot first
  // (see WatchTable::confirm): the full one only when it disagrees with the table.
  void reconcile_now(const Callback& cb, bool full = false);
  void drain(const Callback& cb);
  // Something awaits the next snapshot's confirmation (a leak candidate): back to the
  // configured interval.
  void hurry() { idle_checks_ = 0; }

  EventSource& tracer() { return *tracer_; }
  Backend backend() const { return tracer_->backend(); }
  const WatchTable& table() const { return table_; }
  // --stacks: the resolver of creation stacks (null without).
  const StackResolver* stacks() const { return stacks_.get(); }
  // The node as the session names and judges targets by; its mount tables are those of the
  // latest full snapshot, or of a later refresh (the daemon refreshes them once per tick).
  NodeView& node() { return *node_; }
  const NodeView& node() const { return *node_; }
  SessionCounters counters() const;
  // Full reconciles so far (cheap: no map read, unlike counters()).
  uint64_t full_reconciles() const { return counters_.reconciles; }
  bool reconciling() const { return reconcile_enabled_; }
  std::string snapshot_source() const;
  // Per-user rows of the latest snapshot: the kernel's own counters at that moment.
  const std::vector<UserRow>& last_snapshot_users() const { return last_users_; }
  // When the latest snapshot began: what the table held then has been checked against the
  // kernel (for the hooked backends, events keep it exact anyway).
  uint64_t last_snapshot_start_mono_ns() const { return last_snapshot_start_ns_; }

 private:
  int pump(int timeout_ms, const Callback& cb);  // live events only
  // Hands `out(Event&, bool derived)` each event: a template, not a std::function, because it
  // runs once per event and a std::function of the caller's captures allocated every time.
  template <typename Out>
  void take_in(Event& ev, Out&& out);
  std::unique_ptr<Event> removal_of_vanished_add(const Event& add);
  void deliver(Event& ev, const Callback& cb, bool derived);
  void attach_stack(Event& ev);
  bool selected(const Event& derived) const;
  bool filters_active() const;
  void collect_dead_groups(const TracerCounters& tc, uint64_t now);

  SessionOptions opts_;
  Log log_;
  std::unique_ptr<EventSource> tracer_;
  std::unique_ptr<NodeView> node_;
  // The mount tables of the full snapshot before the latest: a device whose mounts are all newer
  // is another filesystem (the removal classifier's unmount rule).
  std::shared_ptr<const MountNamespaces> snapshot_mounts_;
  SnapshotFactory make_taker_;
  std::unique_ptr<SnapshotProvider> taker_;
  WatchTable table_;
  EventPathCompleter completer_;
  WorkloadCache workloads_;  // each event's task: its pod and container
  std::unique_ptr<StackResolver> stacks_;  // --stacks
  absl::flat_hash_set<uint64_t> selected_groups_;  // instances seen in live (filtered) events
  bool reconcile_enabled_ = false;
  double interval_s_ = 0;
  uint32_t idle_checks_ = 0;  // digest checks in a row that found nothing, with no event between
  static constexpr uint32_t kMaxIdleBackoff = 2;  // at rest: 4x the interval at most
  uint64_t last_reconcile_ns_ = 0;
  // Without reconciles, the table's recent-change marks are pruned here (poll): no snapshot
  // begins before now, so they only guard one add against its removal reordered across CPUs.
  uint64_t last_forget_ns_ = 0;
  static constexpr uint64_t kForgetEveryNs = 1'000'000'000;
  static constexpr uint64_t kReorderMarginNs = 2'000'000'000;
  uint64_t last_snapshot_start_ns_ = 0;
  uint64_t seed_ns_ = 0;
  uint64_t groups_entered_at_collect_ = 0;  // the tracer's count at the last collection
  uint64_t groups_full_seen_ = 0;           // ... and of failed writes, at the last poll
  RateLimitedCount unsequenced_reports_{60'000'000'000};  // instances that got no sequence number: a line a minute
  // What the hooks saw while the seeding snapshot was taken (each applied to the table then, and
  // whether the table derived it), delivered by the first poll.
  std::vector<std::pair<Event, bool>> seeding_events_;
  static constexpr size_t kMaxSeedingEvents = 65536;
  uint64_t drops_seen_ = 0;
  uint64_t counters_read_ns_ = 0;
  static constexpr uint64_t kCountersEveryNs = 10'000'000;
  RateLimitedCount loss_reports_;  // one stderr line a second at most, with the counts
  SessionCounters counters_;
  std::vector<UserRow> last_users_;
};

}  // namespace inotrace
