#include "table/watch_table.h"

#include <absl/container/flat_hash_set.h>
#include <sys/inotify.h>

#include <algorithm>

namespace inotrace {

WatchTable::WatchTable() = default;

ReasonSet unverified_reasons(uint32_t mask) {
  ReasonSet s = reason_bit(Reason::InodeDeleted) | reason_bit(Reason::Unmount) | reason_bit(Reason::InstanceClosed);
  if (mask & IN_ONESHOT) s |= reason_bit(Reason::Oneshot);
  return s;
}

Event WatchTable::derived(const InstanceEntry& inst, EventType type, uint64_t ts) const {
  Event e;
  e.type = type;
  e.ts_mono_ns = ts;
  e.instance = inst.id;
  e.ucount = inst.ucount;
  // The table keeps the user's watch counter; instance events report the instance counter,
  // which a snapshot does not read: say who is charged, not a watch count as instances.
  if (type == EventType::InstanceCreate || type == EventType::InstanceDestroy) e.ucount.count = e.ucount.max = -1;
  e.from_snapshot = true;
  // The actor of a deduced event is unknown; name a watcher instead, and say which: one a
  // snapshot saw holding the instance rather than one that used it in an event (which may have
  // closed its fd and left it to a forked child long before).
  e.pid_source = PidSource::None;
  if (!inst.holders.empty()) {
    auto seen = std::find_if(inst.holders.begin(), inst.holders.end(), [](const Holder& h) { return !h.from_event; });
    const Holder& h = seen != inst.holders.end() ? *seen : inst.holders.front();
    e.task.pid = h.pid;
    e.task.tid = h.pid;
    e.task.comm = h.comm;
    e.task.uid = h.uid;
    e.fd = h.fd;
    if (inst.holders.size() > 1) e.pid_source = PidSource::OneOfHolders;
    else e.pid_source = h.from_event ? PidSource::Adder : PidSource::LastHolder;
  }
  return e;
}

// Takes over the caller's reference on w.path; releases the replaced entry's.
void WatchTable::put_watch(InstanceEntry& inst, int32_t wd, const WatchEntry& w) {
  auto [it, inserted] = inst.watches.try_emplace(wd, w);
  if (inserted) {
    watch_count_++;
    return;
  }
  paths_.release(it->second.path);
  it->second = w;
}

void WatchTable::set_stack(InstanceEntry& inst, int32_t wd, std::shared_ptr<const CreationStack> stack) {
  if (stack)
    inst.stacks[wd] = std::move(stack);
  else
    inst.stacks.erase(wd);
}

const CreationStack* WatchTable::stack_of(const InstanceEntry& inst, int32_t wd) {
  auto it = inst.stacks.find(wd);
  return it == inst.stacks.end() ? nullptr : it->second.get();
}

void WatchTable::erase_watch(InstanceEntry& inst, int32_t wd) {
  auto it = inst.watches.find(wd);
  if (it == inst.watches.end()) return;
  paths_.release(it->second.path);
  inst.watches.erase(it);
  inst.stacks.erase(wd);
  watch_count_--;
}

InstanceEntry& WatchTable::instance_for(const Event& ev) {
  auto [it, inserted] = instances_.try_emplace(ev.instance.group);
  InstanceEntry& inst = it->second;
  if (inserted) {
    inst.id = ev.instance;
    recent_adds_.note_instance(ev.instance.group, ev.ts_mono_ns);
  }
  if (ev.fd >= 0 && ev.task.pid) {
    bool known = std::any_of(inst.holders.begin(), inst.holders.end(),
                             [&](const Holder& h) { return h.pid == ev.task.pid && h.fd == ev.fd; });
    if (!known)
      inst.holders.push_back(Holder{ev.task.pid, ev.fd, ev.task.comm, ev.task.uid, 0, /*from_event=*/true, ev.workload});
  }
  return inst;
}

// The instance is gone (closed, or its pointer reused): its watches went with it, unless some
// went earlier without a hook seeing it — the classifier says whether evidence allows that.
void WatchTable::drop_instance(uint64_t group, uint64_t ts, std::vector<Event>* out, RemovalClassifier* classifier) {
  auto it = instances_.find(group);
  if (it == instances_.end()) return;
  InstanceEntry& inst = it->second;
  if (out) {
    for (const auto& [wd, w] : inst.watches) {
      Event e = derived(inst, EventType::Remove, ts);
      e.wd = wd;
      e.ino = w.ino();
      e.dev = KernelDev{w.dev};
      e.mask = w.mask;
      e.reason = Reason::InstanceClosed;
      if (auto st = inst.stacks.find(wd); st != inst.stacks.end()) e.stack = st->second;
      e.path = paths_.str(w.path);
      e.path_source = static_cast<PathSource>(w.path_source);
      if (w.path_truncated) e.flags |= INOTRACE_F_PATH_TRUNCATED;
      ReasonSet others = classifier ? classifier->also_possible(inst, w, e.path, e.reason, /*instance_gone=*/true)
                                    : unverified_reasons(w.mask);
      others &= ~reason_bit(e.reason);
      if (others) e.possible_reasons = others | reason_bit(e.reason);
      out->push_back(std::move(e));
    }
    Event closed = derived(inst, EventType::InstanceDestroy, ts);
    closed.stack = inst.creation_stack;
    out->push_back(std::move(closed));
  }
  for (auto& [wd, w] : inst.watches) paths_.release(w.path);
  watch_count_ -= inst.watches.size();
  instances_.erase(it);
}

// An add or update: the watch as the event gives it, keeping the add-time path on an update.
void WatchTable::apply_add(const Event& ev) {
  if (!ev.instance.group || ev.wd <= 0 || (ev.flags & INOTRACE_F_MARK_GONE)) return;
  // One lookup of the wd's tombstone for both of its uses: a removal that does not stand is
  // superseded by this add (erased now, not after the update below, which never reads it).
  if (auto removed = tombstones_.find(ev.instance.group, ev.wd)) {
    if (removal_stands(ev.instance.group, *removed)) return;
    tombstones_.erase(ev.instance.group, ev.wd);
  }
  InstanceEntry& inst = instance_for(ev);
  if (ev.ucount.known()) inst.ucount = ev.ucount;
  WatchEntry w;
  w.set_ino(ev.ino);
  w.dev = ev.dev.raw;
  w.mask = ev.mask;
  // A horizon for the recent-change marks even when nobody reconciles: no snapshot takes
  // two minutes. Checked every 64k events to stay off the per-event path.
  if ((++applied_ & 0xffff) == 0 && ev.ts_mono_ns > kRecentHorizonNs) forget_marks_before(ev.ts_mono_ns - kRecentHorizonNs, /*end_of_interval=*/false);
  // An update keeps the add-time path: one through another path names the same inode.
  auto old = ev.type == EventType::Update ? inst.watches.find(ev.wd) : inst.watches.end();
  if (old != inst.watches.end() && old->second.path) {
    w.path = old->second.path;
    paths_.retain(w.path);
    w.path_source = old->second.path_source;
    w.path_truncated = old->second.path_truncated;
  } else {
    w.path = paths_.intern(ev.path);
    w.path_source = static_cast<uint32_t>(ev.path_source);
    w.path_truncated = (ev.flags & INOTRACE_F_PATH_TRUNCATED) != 0;
  }
  put_watch(inst, ev.wd, w);
  if (ev.type == EventType::Add) set_stack(inst, ev.wd, ev.stack);  // an update keeps the creator's
  recent_adds_.note_watch(ev.instance.group, ev.wd, ev.ts_mono_ns);
}

std::vector<Event> WatchTable::apply(const Event& ev) {
  std::vector<Event> out;
  generation_++;
  switch (ev.type) {
    case EventType::InstanceCreate: {
      if (!ev.instance.group) break;
      auto it = instances_.find(ev.instance.group);
      if (it != instances_.end() && !(it->second.id == ev.instance))
        drop_instance(ev.instance.group, ev.ts_mono_ns, &out, nullptr);  // pointer reused
      InstanceEntry& inst = instance_for(ev);
      if (ev.ucount.known()) inst.ucount.uid = ev.ucount.uid, inst.ucount.userns_ino = ev.ucount.userns_ino;
      if (ev.stack) inst.creation_stack = ev.stack;
      break;
    }
    case EventType::Add:
    case EventType::Update:
      apply_add(ev);
      break;
    case EventType::Remove: {
      auto it = instances_.find(ev.instance.group);
      if (it != instances_.end()) erase_watch(it->second, ev.wd);
      tombstones_.note(ev.instance.group, ev.wd, ev.ts_mono_ns);
      break;
    }
    case EventType::InstanceDestroy:
      drop_instance(ev.instance.group, ev.ts_mono_ns, nullptr, nullptr);
      tombstones_.note(ev.instance.group, 0, ev.ts_mono_ns);
      break;
    case EventType::AddFailed:
    case EventType::InitFailed:
      break;
  }
  return out;
}

// Hooked backends: a removal hooked on another CPU can reach the ring buffer before the add
// whose mark it removed (the add had read its mark just before). Instances never reuse a wd, so
// a removal seen for this wd (at `removed_ns`) since this instance (at this address) began means
// the watch is gone.
bool WatchTable::removal_stands(uint64_t group, uint64_t removed_ns) const {
  auto closed = tombstones_.find(group, 0);  // the last close, the first sight
  if (closed && *closed >= removed_ns) return false;
  auto seen = recent_adds_.instance_seen(group);
  return !(seen && *seen >= removed_ns);
}

bool WatchTable::added_since(uint64_t group, int32_t wd, uint64_t t) const {
  return recent_adds_.since(group, wd, t);
}

bool WatchTable::removed_since(uint64_t group, int32_t wd, uint64_t t) const {
  auto removed = tombstones_.find(group, wd);
  return removed && *removed >= t;
}

std::vector<Event> WatchTable::reconcile(const Snapshot& snap, uint64_t snap_start, RemovalClassifier* classifier,
                                         bool emit, ReconcileStats* stats) {
  std::vector<Event> out;
  generation_++;
  ReconcileStats local;
  Reconciling r{snap_start, classifier, emit, out, stats ? *stats : local};
  reconcile_gone_instances(snap, r);
  for (const auto& si : snap.instances) reconcile_instance(si, r);
  forget_recent_before(snap_start);  // marks older than this snapshot have served
  return out;
}

// Instances the snapshot no longer has: closed (fd closed, process exit).
void WatchTable::reconcile_gone_instances(const Snapshot& snap, Reconciling& r) {
  absl::flat_hash_set<uint64_t> seen;
  for (const auto& si : snap.instances) seen.insert(si.group);
  std::vector<uint64_t> gone;
  for (const auto& [group, inst] : instances_)
    if (!seen.contains(group) && !added_since(group, 0, r.start)) gone.push_back(group);
  for (uint64_t g : gone) {
    r.stats.instances_gone++;
    r.stats.removed += instances_.at(g).watches.size();
    drop_instance(g, r.start, r.emit ? &r.out : nullptr, r.classifier);
  }
}

void WatchTable::reconcile_instance(const SnapInstance& si, Reconciling& r) {
  if (removed_since(si.group, 0, r.start)) return;  // destroyed by an event after the snapshot began
  auto [it, inserted] = instances_.try_emplace(si.group);
  InstanceEntry& inst = it->second;
  if (inserted) {
    inst.id = InstanceId{si.group, 0};
    r.stats.instances_new++;
    if (r.emit) {
      inst.holders = si.holders;
      inst.ucount = si.ucount;
      r.out.push_back(derived(inst, EventType::InstanceCreate, r.start));
    }
  }
  inst.holders = si.holders;
  if (si.ucount.known()) inst.ucount = si.ucount;
  if (!si.truncated) reconcile_vanished_watches(inst, si, r);
  for (const auto& sw : si.watches) reconcile_present_watch(inst, si, sw, r);
}

// Watches that vanished without an event.
void WatchTable::reconcile_vanished_watches(InstanceEntry& inst, const SnapInstance& si, Reconciling& r) {
  absl::flat_hash_set<int32_t> in_snapshot;
  for (const auto& sw : si.watches) in_snapshot.insert(sw.wd);
  std::vector<int32_t> vanished;
  for (const auto& [wd, w] : inst.watches)
    if (!in_snapshot.contains(wd) && !added_since(si.group, wd, r.start)) vanished.push_back(wd);
  for (int32_t wd : vanished) {
    const WatchEntry& w = inst.watches.at(wd);
    if (r.emit) {
      Event e = derived(inst, EventType::Remove, r.start);
      e.wd = wd;
      e.ino = w.ino();
      e.dev = KernelDev{w.dev};
      e.mask = w.mask;
      if (auto st = inst.stacks.find(wd); st != inst.stacks.end()) e.stack = st->second;
      e.path = paths_.str(w.path);
      e.path_source = static_cast<PathSource>(w.path_source);
      if (w.path_truncated) e.flags |= INOTRACE_F_PATH_TRUNCATED;
      e.reason = r.classifier ? r.classifier->classify(inst, wd, w, e.path) : Reason::Unknown;
      ReasonSet others = r.classifier ? r.classifier->also_possible(inst, w, e.path, e.reason, false) : 0;
      others &= ~reason_bit(e.reason);
      if (others) e.possible_reasons = others | reason_bit(e.reason);
      r.out.push_back(std::move(e));
    }
    erase_watch(inst, wd);
    r.stats.removed++;
  }
}

// A watch present without an event (it existed before tracing, or its event was lost), or
// changed, or whose path the snapshot names better.
void WatchTable::reconcile_present_watch(InstanceEntry& inst, const SnapInstance& si, const SnapWatch& sw, Reconciling& r) {
  if (removed_since(si.group, sw.wd, r.start)) return;
  auto wit = inst.watches.find(sw.wd);
  bool is_new = wit == inst.watches.end();
  bool changed = !is_new && (wit->second.mask != sw.mask || wit->second.ino() != sw.ino || wit->second.dev != sw.dev.raw);
  // A path unknown, or known only as a marked tail, is filled from a snapshot that names it whole.
  bool fill_path =
      !is_new && (!wit->second.path || (wit->second.path_truncated && !sw.path_truncated)) && !sw.path.empty();
  if (!is_new && !changed && !fill_path) return;
  WatchEntry w = is_new ? WatchEntry{} : wit->second;
  if (!is_new && added_since(si.group, sw.wd, r.start) && !fill_path) return;
  bool replaced = !is_new && (wit->second.ino() != sw.ino || wit->second.dev != sw.dev.raw);
  w.set_ino(sw.ino);
  w.dev = sw.dev.raw;
  w.mask = sw.mask;
  if (is_new || replaced || fill_path) {
    w.path = paths_.intern(sw.path);
    w.path_source = static_cast<uint32_t>(sw.path_source);
    w.path_truncated = sw.path_truncated;
  } else {
    paths_.retain(w.path);  // w keeps the entry's path; put_watch drops the entry's reference
  }
  put_watch(inst, sw.wd, w);
  if (replaced) set_stack(inst, sw.wd, nullptr);  // another watch now: its creation was not seen
  if (is_new) r.stats.added++;
  else if (changed) r.stats.updated++;
  if (r.emit && (is_new || changed)) {
    Event e = derived(inst, is_new ? EventType::Add : EventType::Update, r.start);
    e.wd = sw.wd;
    e.ino = sw.ino;
    e.dev = sw.dev;
    e.mask = sw.mask;
    e.path = sw.path;
    e.path_source = sw.path_source;
    if (sw.path_truncated) e.flags |= INOTRACE_F_PATH_TRUNCATED;
    r.out.push_back(std::move(e));
  }
}

bool WatchTable::confirm(const Snapshot& digests) {
  if (!digests.digests_only || digests.instances.size() != instances_.size()) return false;
  auto fds = [](const std::vector<Holder>& holders) {
    std::vector<std::pair<uint32_t, int32_t>> v;
    for (const auto& h : holders) v.emplace_back(h.pid, h.fd);
    std::sort(v.begin(), v.end());
    return v;
  };
  for (const auto& si : digests.instances) {
    auto it = instances_.find(si.group);
    if (it == instances_.end() || si.truncated) return false;
    const InstanceEntry& inst = it->second;
    if (si.digest_watches != inst.watches.size() || fds(si.holders) != fds(inst.holders)) return false;
    uint64_t digest = 0;
    for (const auto& [wd, w] : inst.watches) digest ^= inotrace_watch_digest(wd, w.mask);
    if (digest != si.digest) return false;
  }
  for (auto& [g, inst] : instances_)
    for (auto& h : inst.holders) h.from_event = false;
  return true;
}

bool WatchTable::confirm_counts(const Snapshot& counts) {
  if (!counts.counts_only || counts.instances.size() != instances_.size()) return false;
  auto fds = [](const std::vector<Holder>& holders) {
    std::vector<std::pair<uint32_t, int32_t>> v;
    for (const auto& h : holders) v.emplace_back(h.pid, h.fd);
    std::sort(v.begin(), v.end());
    return v;
  };
  absl::flat_hash_map<std::pair<uint32_t, uint32_t>, int64_t> kernel, table;  // (userns, uid) -> watches
  for (const auto& si : counts.instances) {
    auto it = instances_.find(si.group);
    if (it == instances_.end() || !si.ucount.known() || fds(si.holders) != fds(it->second.holders)) return false;
    const UcountInfo& u = it->second.ucount;
    if (u.uid != si.ucount.uid || u.userns_ino != si.ucount.userns_ino) return false;
    kernel[{u.userns_ino, u.uid}] = si.ucount.count;
    table[{u.userns_ino, u.uid}] += it->second.watches.size();
  }
  if (kernel != table) return false;
  for (auto& [g, inst] : instances_)
    for (auto& h : inst.holders) h.from_event = false;
  return true;
}

bool WatchTable::may_be_vanished_add(const Event& add) const {
  return add.type == EventType::Add && (add.flags & INOTRACE_F_MARK_GONE) && add.instance.group && add.wd > 0;
}

std::optional<Event> WatchTable::removal_of_vanished_add(const Event& add) const {
  if (!may_be_vanished_add(add)) return std::nullopt;
  if (tombstones_.find(add.instance.group, add.wd)) return std::nullopt;  // a live removal matched it
  Event e = add;
  e.type = EventType::Remove;
  e.from_snapshot = true;
  e.pid_source = PidSource::Adder;
  e.flags = INOTRACE_F_MARK_GONE | (add.flags & INOTRACE_F_PATH_TRUNCATED);
  // The mark was never read: its target is unknown, its mask was the request's.
  e.ino = 0;
  e.dev = KernelDev{};
  e.mask = add.req_mask & (IN_ALL_EVENTS | IN_ONESHOT | IN_EXCL_UNLINK);
  e.reason = Reason::Unknown;
  e.possible_reasons = unverified_reasons(e.mask);
  return e;
}

void WatchTable::forget_recent_before(uint64_t mono_ns) { forget_marks_before(mono_ns, /*end_of_interval=*/true); }

void WatchTable::forget_marks_before(uint64_t mono_ns, bool end_of_interval) {
  tombstones_.forget_before(mono_ns, end_of_interval);
  recent_adds_.forget_before(mono_ns, end_of_interval);
}

size_t WatchTable::memory_bytes() const {
  size_t bytes = paths_.memory_bytes() + instances_.capacity() * (sizeof(uint64_t) + sizeof(InstanceEntry) + 1) +
                 tombstones_.memory_bytes() + recent_adds_.memory_bytes();
  for (const auto& [g, inst] : instances_)
    // A B-tree does not tell its node count: its values plus ~1/8 of node overhead, a lower
    // bound (small or thinned trees have emptier nodes).
    bytes += inst.watches.size() * sizeof(std::pair<int32_t, WatchEntry>) * 9 / 8 +
             inst.holders.capacity() * sizeof(Holder) +
             inst.stacks.capacity() * (sizeof(std::pair<int32_t, std::shared_ptr<const CreationStack>>) + 1);
  return bytes;
}

}  // namespace inotrace
