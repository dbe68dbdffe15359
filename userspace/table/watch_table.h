// The live watch table: every inotify instance and watch on the machine, seeded by a snapshot
// and kept current by events. Reconciliation against later snapshots finds what hooks missed
// (removals without a hook on the tracepoint backend, drops) and says so with derived events.
#pragma once

#include <absl/container/btree_map.h>
#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "events/event.h"
#include "snapshot/snapshot.h"
#include "table/capacity_keeper.h"
#include "table/path_interner.h"
#include "table/recent_adds.h"
#include "table/tombstones.h"

namespace inotrace {

// 20 bytes, 4-aligned (a hash slot with its wd is 24): a million watches must fit in ~100 MB
// with their paths.
struct WatchEntry {
  uint32_t ino_lo = 0, ino_hi = 0;  // 64-bit inode number, split to keep 4-byte alignment
  uint32_t dev = 0;                 // kernel dev_t
  uint32_t mask = 0;
  PathId path : 28 = kNoPath;
  uint32_t path_source : 3 = 0;     // PathSource
  uint32_t path_truncated : 1 = 0;  // path is "…/" + a tail (see paths/truncated_path.h)
  uint64_t ino() const { return (uint64_t)ino_hi << 32 | ino_lo; }
  void set_ino(uint64_t v) { ino_lo = (uint32_t)v, ino_hi = (uint32_t)(v >> 32); }
};
static_assert(sizeof(WatchEntry) == 20 && alignof(WatchEntry) == 4);
static_assert(static_cast<uint32_t>(PathSource::FileHandle) < 8, "PathSource must fit WatchEntry::path_source");

struct InstanceEntry {
  InstanceId id;
  std::vector<Holder> holders;
  UcountInfo ucount;
  // By wd. A B-tree: an instance's wds come in order (the kernel allocates them cyclically), so
  // its nodes fill up; ~26 bytes per watch where a hash map's slack made it ~50.
  absl::btree_map<int32_t, WatchEntry> watches;
  // --stacks: the stack that created each watch seen being added (not those a snapshot found:
  // their creation happened before tracing). Apart from WatchEntry: empty, it costs nothing.
  absl::flat_hash_map<int32_t, std::shared_ptr<const CreationStack>> stacks;
  // --stacks: the stack of the inotify_init that created the instance, if it was seen.
  std::shared_ptr<const CreationStack> creation_stack;
};

// Says why a watch that vanished without an event is gone (tracepoint backend).
class RemovalClassifier {
 public:
  virtual ~RemovalClassifier() = default;
  // A watch vanished from an instance that is still open.
  virtual Reason classify(const InstanceEntry& inst, int32_t wd, const WatchEntry& w, const std::string& path) = 0;
  // The reasons other than `chosen` the evidence leaves open for a watch that vanished (with
  // its whole instance when instance_gone, chosen then being instance_closed). 0: certain.
  virtual ReasonSet also_possible(const InstanceEntry&, const WatchEntry&, const std::string& /*path*/,
                                  Reason /*chosen*/, bool /*instance_gone*/) {
    return 0;
  }
};

// What could have ended a watch when nothing was checked: every cause without a hook on the
// tracepoint backend (oneshot only for a one-shot mask).
ReasonSet unverified_reasons(uint32_t mask);

struct ReconcileStats {
  uint64_t removed = 0, added = 0, updated = 0, instances_gone = 0, instances_new = 0;
  uint64_t corrections() const { return removed + added + updated + instances_gone + instances_new; }
};

class WatchTable {
 public:
  WatchTable();

  // Applies a live event. Returns derived events (e.g. an instance_create for a reused group
  // pointer implies the old instance is gone: its removals, reason instance_closed).
  std::vector<Event> apply(const Event& ev);

  // Makes the table equal to `snap`, which was started at `snap_start_mono_ns`. Entries
  // created or removed by events after that moment are left alone (the snapshot could not see
  // them). With emit, returns the differences as events marked from_snapshot; when seeding,
  // pass emit = false. Snapshot paths (already resolved) fill in unknown paths.
  std::vector<Event> reconcile(const Snapshot& snap, uint64_t snap_start_mono_ns, RemovalClassifier* classifier,
                               bool emit, ReconcileStats* stats = nullptr);

  // Whether a digest-only snapshot (Snapshot::digests_only) shows exactly what the table
  // holds: the same instances, holders, and watches (by digest). Then a full snapshot would
  // change nothing and need not be taken; the holders count as seen by a snapshot.
  bool confirm(const Snapshot& digests);
  // Cheaper still, from a counts-only snapshot (Snapshot::counts_only): the same instances and
  // holders, and every user's watches in the table equal the kernel's count for that user. A
  // watch that vanished without an event lowers its user's count.
  bool confirm_counts(const Snapshot& counts);

  // Bumped by every applied event and every full reconcile: unchanged means the table holds
  // what it held (its readers may skip re-evaluating it).
  uint64_t generation() const { return generation_; }

  size_t instance_count() const { return instances_.size(); }
  size_t watch_count() const { return watch_count_; }
  const absl::flat_hash_map<uint64_t, InstanceEntry>& instances() const { return instances_; }
  std::string path_of(const WatchEntry& w) const { return paths_.str(w.path); }
  void path_of(const WatchEntry& w, std::string& out) const { paths_.str(w.path, out); }
  // The stack that created (inst, wd), if --stacks saw it being added; else null.
  static const CreationStack* stack_of(const InstanceEntry& inst, int32_t wd);
  const PathInterner& paths() const { return paths_; }
  size_t memory_bytes() const;  // approximate, containers included
  // An add whose watch was already gone when the add returned (INOTRACE_F_MARK_GONE): the
  // table never holds it, so nothing would ever remove it. Returns the removal that matches
  // it (deduced: reason unknown, every unhooked cause possible; the pid is the adder's), or
  // nullopt when this is no such add or a live removal of it was already applied. Apply the
  // result, so the table remembers the watch is gone. For backends without removal hooks.
  std::optional<Event> removal_of_vanished_add(const Event& add) const;
  // The cheap first test of removal_of_vanished_add: an add whose mark was already gone.
  bool may_be_vanished_add(const Event& add) const;
  // Forgets what events changed before `mono_ns` (reconcile does this; long-running owners
  // that reconcile rarely or never call it too, so the bookkeeping stays bounded).
  void forget_recent_before(uint64_t mono_ns);

 private:
  InstanceEntry& instance_for(const Event& ev);
  void apply_add(const Event& ev);
  void put_watch(InstanceEntry& inst, int32_t wd, const WatchEntry& w);
  void erase_watch(InstanceEntry& inst, int32_t wd);
  void set_stack(InstanceEntry& inst, int32_t wd, std::shared_ptr<const CreationStack> stack);
  void drop_instance(uint64_t group, uint64_t ts, std::vector<Event>* out, RemovalClassifier* classifier);
  Event derived(const InstanceEntry& inst, EventType type, uint64_t ts) const;

  // One reconcile's inputs and outputs, passed to its steps.
  struct Reconciling {
    uint64_t start;  // when the snapshot began
    RemovalClassifier* classifier;
    bool emit;
    std::vector<Event>& out;
    ReconcileStats& stats;
  };
  // What events changed since the snapshot began is theirs, not the snapshot's to undo.
  bool added_since(uint64_t group, int32_t wd, uint64_t t) const;
  bool removed_since(uint64_t group, int32_t wd, uint64_t t) const;
  void reconcile_gone_instances(const Snapshot& snap, Reconciling& r);
  void reconcile_instance(const SnapInstance& si, Reconciling& r);
  void reconcile_vanished_watches(InstanceEntry& inst, const SnapInstance& si, Reconciling& r);
  void reconcile_present_watch(InstanceEntry& inst, const SnapInstance& si, const SnapWatch& sw, Reconciling& r);

  absl::flat_hash_map<uint64_t, InstanceEntry> instances_;  // by group pointer
  size_t watch_count_ = 0;
  PathInterner paths_;
  // What events changed recently, so that a snapshot begun before those events neither
  // resurrects a removed watch nor removes a new one. Pruned at each reconcile.
  Tombstones tombstones_;
  bool removal_stands(uint64_t group, uint64_t removed_ns) const;
  // end_of_interval: a reconcile's or the session's prune, which may resize what it erased
  // from; not the horizon check in the middle of one (it would shrink what churn refills).
  void forget_marks_before(uint64_t mono_ns, bool end_of_interval);
  RecentAdds recent_adds_;
  static constexpr uint64_t kRecentHorizonNs = 120'000'000'000ull;
  uint64_t applied_ = 0;
  uint64_t generation_ = 0;
};

}  // namespace inotrace
