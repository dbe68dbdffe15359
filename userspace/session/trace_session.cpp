#include "session/trace_session.h"

#include <fmt/format.h>

#include <algorithm>
#include <future>
#include <system_error>

#include "loader/environment.h"
#include "snapshot/iter_source.h"
#include "util/small_file.h"
#include "table/removal_deduction.h"
#include "util/wall_clock.h"

namespace inotrace {

namespace {

// Per-user counts of a snapshot with max_user_instances (the daemon's /metrics shows both).
std::vector<UserRow> users_of(const Snapshot& snap) {
  int64_t max_inst = read_long_file("/proc/sys/fs/inotify/max_user_instances").value_or(-1);
  return per_user(snap, max_inst, kInitUserNsIno);
}

}  // namespace

namespace {

// Whether the session may take a snapshot at all (which ones, the backend decides).
bool may_snapshot(const SessionOptions& opts) {
  return opts.snapshot_source != SnapshotSource::Procfs &&
         (opts.seed || opts.reconcile_interval_s > 0 || (opts.reconcile_all_backends && opts.hooked_reconcile_interval_s > 0));
}

// Hooks first: everything from here on is buffered, so nothing falls between the snapshot and
// the stream. The snapshot iterator loads on another thread once they are attached: begun
// before, its load (~10 ms of verification) took the CPU the tracer's own start-up and early
// maps needed on a 2-core node (exec to attach, median of 20: 44.7 -> 43.0 ms), and only the
// seeding snapshot waits for it. The taker reads the tracer's kernel facts, which live as long
// as the session.
TraceSession::Sources real_sources(const SessionOptions& opts, const TraceSession::Log& log) {
  init_libbpf_logging(opts.tracer.verbose);  // before a second thread calls libbpf
  // TraceSession::collect_dead_groups: only where a snapshot sees every process (a task
  // iterator sees only its own PID namespace's, and would call the others' instances ended).
  const bool snapshots = may_snapshot(opts);
  TracerOptions tracer_opts = opts.tracer;
  tracer_opts.dead_groups_collected = snapshots && in_initial_pid_namespace().value_or(false);
  auto tracer = std::make_unique<Tracer>(tracer_opts);
  PendingIterSource iter;
  try {
    if (snapshots)
      iter = std::async(std::launch::async, [btf = opts.tracer.btf_path] {
               return std::make_shared<IterSource>(preflight(btf));
             }).share();
  } catch (const std::system_error&) {
    // no thread to be had (a pids limit): the taker loads it itself, after the tracer
  }
  const KernelFacts* facts = &tracer->facts();
  SnapshotSource source = opts.snapshot_source;
  return {std::move(tracer),
          [facts, source, log, iter](NodeView& node) {
            return std::make_unique<SnapshotTaker>(facts, source, node, log, SnapshotNeeds::Paths, iter);
          },
          nullptr};
}

}  // namespace

TraceSession::TraceSession(const SessionOptions& opts, Log log) : TraceSession(opts, log, real_sources(opts, log)) {}

TraceSession::TraceSession(const SessionOptions& opts, Log log, Sources sources)
    : opts_(opts),
      log_(std::move(log)),
      tracer_(std::move(sources.events)),
      node_(sources.node ? std::move(sources.node) : std::make_unique<ProcNodeView>("/proc", opts.runtime)),
      make_taker_(std::move(sources.snapshots)),
      completer_(*node_),
      workloads_(*node_),
      stacks_(opts.tracer.capture_stacks ? std::make_unique<StackResolver>() : nullptr) {
  bool hooked = tracer_->backend() != Backend::Tracepoint;
  interval_s_ = hooked ? opts.hooked_reconcile_interval_s : opts.reconcile_interval_s;
  bool wants_reconcile = interval_s_ > 0 && (!hooked || opts.reconcile_all_backends);
  if (opts.seed || wants_reconcile) taker_ = make_taker_(*node_);
  reconcile_enabled_ = wants_reconcile;
  if (opts.seed) {
    seed_ns_ = WallClock::monotonic_now_ns();
    Snapshot snap = taker_->take(true);
    snapshot_mounts_ = node_->mount_tables();
    // Events that arrived while the snapshot was taken go in first; reconcile leaves alone
    // what they changed after the snapshot began. They are the stream's first events too:
    // the hooks record from their attach, and the first poll delivers what they saw meanwhile.
    // Kept up to a bound: a flood while seeding must not grow memory without end (the table
    // still takes every event; what is not kept is reported).
    uint64_t not_kept = 0;
    tracer_->drain([&](const Event& raw) {
      Event ev = raw;
      take_in(ev, [&](Event& e, bool derived) {
        if (seeding_events_.size() < kMaxSeedingEvents) seeding_events_.push_back({std::move(e), derived});
        else not_kept++;
      });
    });
    if (not_kept)
      log_(fmt::format("{} events seen while the table was seeded are not in the output (more than {} arrived "
                       "meanwhile); the table holds them",
                       not_kept, kMaxSeedingEvents));
    table_.reconcile(snap, seed_ns_, nullptr, /*emit=*/false);
    last_users_ = users_of(snap);
    for (const auto& w : snap.warnings) log_(fmt::format("snapshot: {}", w));
    last_reconcile_ns_ = seed_ns_;
    last_snapshot_start_ns_ = seed_ns_;
  }
}

TraceSession::~TraceSession() = default;

std::string TraceSession::snapshot_source() const { return taker_ ? taker_->source_name() : "none"; }

bool TraceSession::filters_active() const {
  const auto& f = opts_.tracer.filters;
  return f.pid || f.uid || f.cgroup_id || f.comm;
}

// A reconcile-derived event names the watcher, not an actor: show it when the instance was
// seen in the user's filtered stream, or its holder matches the pid/comm/uid filters.
bool TraceSession::selected(const Event& ev) const {
  if (!filters_active()) return true;
  if (selected_groups_.contains(ev.instance.group)) return true;
  const auto& f = opts_.tracer.filters;
  if (f.cgroup_id) return false;
  return (!f.pid || ev.task.pid == *f.pid) && (!f.comm || ev.task.comm == *f.comm) &&
         (!f.uid || ev.task.uid == *f.uid);
}

// --stacks: an add's or init's captured stack, resolved now (the process's mappings mean nothing
// later); a removal's, the stack that created the watch; a close's, the one that created the
// instance.
void TraceSession::attach_stack(Event& ev) {
  if (!stacks_) return;
  if (!ev.user_stack.empty()) {
    ev.stack = stacks_->resolve(ev.task.pid, ev.user_stack, ev.stack_top_word);
    return;
  }
  if (ev.type != EventType::Remove && ev.type != EventType::InstanceDestroy) return;
  auto inst = table_.instances().find(ev.instance.group);
  if (inst == table_.instances().end()) return;
  if (ev.type == EventType::InstanceDestroy) {
    if (inst->second.id == ev.instance) ev.stack = inst->second.creation_stack;
    return;
  }
  auto it = inst->second.stacks.find(ev.wd);
  if (it != inst->second.stacks.end()) ev.stack = it->second;
}

void TraceSession::deliver(Event& ev, const Callback& cb, bool derived) {
  if (derived && !selected(ev)) return;
  // A live event was looked up in take_in (outside pods it stays null): only derived ones ask.
  if (derived && ev.task.pid && !ev.workload) ev.workload = workloads_.of(ev.task.pid, ev.task.cgroup_id);
  // A hook's close, or a reconcile's (the tracepoint backend has no hook for a close; the
  // table derives an instance's removals before its close).
  bool closed = ev.type == EventType::InstanceDestroy;
  uint64_t group = ev.instance.group;
  cb(ev);
  // Once delivered (a seeding drain delivers later than it takes in), what the closed instance
  // derived was judged: a reused address is a new instance.
  if (closed) selected_groups_.erase(group);
}

int TraceSession::poll(int timeout_ms, const Callback& cb) {
  int n = pump(timeout_ms, cb);
  if (n) idle_checks_ = 0;  // activity: back to the configured interval
  uint64_t now = WallClock::monotonic_now_ns();
  // Each kernel counter is a syscall that copies out its per-CPU values. While records stream
  // in 1 ms batches, they are read every kCountersEveryNs instead of after every batch.
  uint64_t drops = drops_seen_;
  if (n == 0 || now - counters_read_ns_ >= kCountersEveryNs) {
    TracerCounters tc = tracer_->counters();
    counters_read_ns_ = now;
    drops = tc.ringbuf_drops;
    collect_dead_groups(tc, now);
  }
  bool dropped = drops > drops_seen_;
  // While digest checks keep finding nothing and no event comes, wait 2x, then 4x the interval.
  double interval = interval_s_;
  if (opts_.back_off_when_idle) interval *= 1u << std::min<uint32_t>(idle_checks_, kMaxIdleBackoff);
  bool due = reconcile_enabled_ && now - last_reconcile_ns_ >= (uint64_t)(interval * 1e9);
  if ((dropped || due) && opts_.seed) {
    if (dropped) {
      counters_.resnapshots_after_drops++;
      if (!taker_) taker_ = make_taker_(*node_);
      loss_reports_.add(drops - drops_seen_);
    }
    drops_seen_ = drops;
    reconcile_now(cb, /*full=*/dropped);
  }
  if (!reconcile_enabled_ && now - last_forget_ns_ >= kForgetEveryNs && now > kReorderMarginNs) {
    table_.forget_recent_before(now - kReorderMarginNs);  // else kept for the table's 120 s horizon
    last_forget_ns_ = now;
  }
  if (auto r = loss_reports_.due(now))
    log_(fmt::format("{} events were lost (ring buffer full) in {} burst{}{}: re-snapshotted after each", r->count,
                     r->batches, r->batches == 1 ? "" : "s",
                     r->since_ns ? fmt::format(" in the last {:.1f} s", (now - r->since_ns) / 1e9) : ""));
  return n;
}

// Where the tracer's map of instance sequence numbers allocates on demand (loader/tracer.h),
// nothing ages its entries out: it is told which instances ended, from the instances a
// whole-box snapshot finds, each time enough new ones were written to it. A count-only snapshot
// lists every instance (~ms). `now`: taken before the snapshot, so entries written while it
// runs count as alive.
void TraceSession::collect_dead_groups(const TracerCounters& tc, uint64_t now) {
  // Due after enough entries, or at once when the map was found full since the last poll.
  bool full = tc.groups_full > groups_full_seen_;
  if (full) {
    unsequenced_reports_.add(tc.groups_full - groups_full_seen_);
    groups_full_seen_ = tc.groups_full;
  }
  if (auto r = unsequenced_reports_.due(now))
    log_(fmt::format("{} inotify instances got no sequence number (the kernel's table of instances was full, or "
                     "out of memory): "
                     "their records may be matched to an older instance at the same address",
                     r->count));
  if (!full && tc.groups_entered - groups_entered_at_collect_ < opts_.collect_groups_every) return;
  if (!tracer_->groups_need_collection()) return;
  groups_entered_at_collect_ = tc.groups_entered;  // whatever happens below: tried again after as many more
  std::optional<Snapshot> snap;
  try {
    if (!taker_) taker_ = make_taker_(*node_);
    snap = taker_->take_counts();
  } catch (const std::exception& e) {
    log_(fmt::format("collecting ended instances: snapshot failed: {}", e.what()));
  }
  // Only the iterator names instances by their group; a snapshot that skipped or lost anything
  // might not list a live one.
  if (!snap || snap->source != "iterator" || !snap->warnings.empty()) {
    counters_.group_collections_skipped++;
    // A full map with no snapshot to tell the ended instances: the oldest half goes, as the
    // LRU it replaces would have evicted (an old instance still alive loses its number).
    if (full) counters_.dead_groups_collected += tracer_->forget_oldest_groups();
    return;
  }
  std::vector<uint64_t> live;
  live.reserve(snap->instances.size());
  for (const SnapInstance& inst : snap->instances) live.push_back(inst.group);
  counters_.dead_groups_collected += tracer_->collect_dead_groups(live, now);
}

int TraceSession::pump(int timeout_ms, const Callback& cb) {
  int n = 0;
  for (auto& [ev, derived] : std::exchange(seeding_events_, {})) {
    deliver(ev, cb, derived);
    n++;
  }
  tracer_->poll(timeout_ms, [&](Event& ev) {  // the tracer's own: completed in place, no copy
    take_in(ev, [&](Event& e, bool derived) {
      deliver(e, cb, derived);
      n++;
    });
  });
  return n;
}

// One event from the hooks: named, completed, applied to the table; handed to `out` after what
// the table derived from it, and before the removal of an add whose watch had already vanished.
template <typename Out>
void TraceSession::take_in(Event& ev, Out&& out) {
  bool named = false;
  if (ev.type == EventType::Remove) {
    // Name the target as the watcher did when adding it (marked as it was then).
    auto inst = table_.instances().find(ev.instance.group);
    if (inst != table_.instances().end()) {
      auto w = inst->second.watches.find(ev.wd);
      if (w != inst->second.watches.end() && w->second.path) {
        table_.path_of(w->second, ev.path);
        ev.path_source = static_cast<PathSource>(w->second.path_source);
        ev.flags &= ~INOTRACE_F_PATH_TRUNCATED;
        if (w->second.path_truncated) ev.flags |= INOTRACE_F_PATH_TRUNCATED;
        named = true;
      }
    }
  }
  if (!named) completer_.complete(ev);
  attach_stack(ev);
  // Before the table learns a holder from it: the holder keeps its pod too.
  if (ev.task.pid) ev.workload = workloads_.of(ev.task.pid, ev.task.cgroup_id);
  // Only filters ask which instances the stream showed; unfiltered, the set would only grow.
  bool filtered = filters_active();
  if (filtered && ev.instance.group) selected_groups_.insert(ev.instance.group);
  for (Event& d : table_.apply(ev)) out(d, true);
  // Rare, so not a std::optional<Event> on every event: GCC zeroes its whole 320 bytes (rep
  // stos), 5 % of the trace path's CPU in perf.
  std::unique_ptr<Event> gone;
  if (tracer_->backend() == Backend::Tracepoint && table_.may_be_vanished_add(ev))
    gone = removal_of_vanished_add(ev);  // before `out` may take ev
  out(ev, false);
  if (gone) out(*gone, true);
}

// An add whose watch was gone before it returned (a concurrent unlink, umount, close or
// one-shot event): hooked backends report that removal themselves (before the add); here
// nothing would, so adds - removes would show a watch that never existed.
std::unique_ptr<Event> TraceSession::removal_of_vanished_add(const Event& add) {
  std::optional<Event> removal = table_.removal_of_vanished_add(add);
  if (!removal) return nullptr;
  auto gone = std::make_unique<Event>(std::move(*removal));
  DeducingRemovalClassifier classifier(*node_);
  gone->reason = classifier.classify_vanished_add(*gone);
  gone->possible_reasons |= reason_bit(gone->reason) & ~reason_bit(Reason::Unknown);
  table_.apply(*gone);
  return gone;
}

void TraceSession::reconcile_now(const Callback& cb, bool full) {
  if (!taker_) return;
  uint64_t start = WallClock::monotonic_now_ns();
  if (!full) {
    // At rest nothing changed. First the kernel's per-user watch counts (no mark is read), then
    // the marks' digests (no watch, path or mount table crosses to userspace); a full snapshot
    // of 100k watches costs tens of ms of a core.
    std::optional<Snapshot> counts = taker_->take_counts();
    if (counts) pump(0, cb);
    bool confirmed = counts && table_.confirm_counts(*counts);
    if (!confirmed) {
      std::optional<Snapshot> digests = taker_->take_digests();
      if (digests) pump(0, cb);
      confirmed = digests && table_.confirm(*digests);
    }
    if (confirmed) {
      table_.forget_recent_before(start);  // as a full reconcile does: those marks have served
      counters_.digest_checks++;
      idle_checks_++;
      last_reconcile_ns_ = WallClock::monotonic_now_ns();
      last_snapshot_start_ns_ = start;
      return;
    }
    start = WallClock::monotonic_now_ns();
  }
  idle_checks_ = 0;
  Snapshot snap = taker_->take(true);
  std::shared_ptr<const MountNamespaces> before = std::exchange(snapshot_mounts_, node_->mount_tables());
  // Apply everything that happened up to now before comparing.
  pump(0, cb);
  DeducingRemovalClassifier classifier(*node_, before.get());
  ReconcileStats stats;
  auto derived = table_.reconcile(snap, start, &classifier, /*emit=*/true, &stats);
  last_users_ = users_of(snap);
  for (Event& d : derived) deliver(d, cb, true);
  counters_.corrections.removed += stats.removed;
  counters_.corrections.added += stats.added;
  counters_.corrections.updated += stats.updated;
  counters_.corrections.instances_gone += stats.instances_gone;
  counters_.corrections.instances_new += stats.instances_new;
  counters_.reconciles++;
  last_reconcile_ns_ = WallClock::monotonic_now_ns();
  last_snapshot_start_ns_ = start;
}

void TraceSession::drain(const Callback& cb) { pump(0, cb); }

SessionCounters TraceSession::counters() const {
  SessionCounters c = counters_;
  c.tracer = tracer_->counters();
  return c;
}

}  // namespace inotrace
