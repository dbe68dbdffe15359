#include "daemon/node_monitor.h"

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>

#include <algorithm>
#include <cerrno>

#include "snapshot/aggregate.h"
#include "util/small_file.h"
#include "util/wall_clock.h"

namespace inotrace {

NodeMonitor::NodeMonitor(const MonitorOptions& opts, TraceSession::Log log)
    : opts_(opts), log_(std::move(log)), pods_(opts.pods_root, opts.kubepods_cgroup), detector_(pods_) {
  started_ns_ = WallClock::monotonic_now_ns();
  session_ = std::make_unique<TraceSession>(opts_.session, log_);
  evaluate_now();
}

void NodeMonitor::evaluate_now() {
  // One read of every mount table per tick, shared with the snapshot that may just have
  // refreshed them (an evaluation follows each snapshot).
  std::vector<std::string> warnings;
  session_->node().refresh_if_older((uint64_t)(opts_.evaluate_interval_s * 0.5e9), &warnings);
  bool stale = opts_.stale_every > 0 && evaluations_ % opts_.stale_every == 0;
  last_eval_ns_ = WallClock::monotonic_now_ns();
  max_user_instances_ = read_long_file("/proc/sys/fs/inotify/max_user_instances").value_or(-1);
  // Events alone keep the table exact on fentry/kprobe; on tracepoint a snapshot must confirm.
  uint64_t confirmed = session_->backend() == Backend::Tracepoint ? session_->last_snapshot_start_mono_ns() : last_eval_ns_;
  detector_.evaluate(session_->table(), session_->node(), last_eval_ns_, stale, confirmed);
  if (detector_.candidates_pending()) session_->hurry();  // flag leaks within 2 s, not 4
  sample_growth(last_eval_ns_);
  evaluations_++;
}

// One sample per user per evaluation; a user with no instance left is forgotten (its history
// would only describe watches that no longer exist).
void NodeMonitor::sample_growth(uint64_t now_ns) {
  // A short window (tests) needs no more than half of it as history.
  double warmup = std::min(opts_.forecast_warmup_s, opts_.forecast_window_s / 2);
  GrowthForecast fresh(opts_.forecast_window_s, warmup);
  for (const auto& u : counted_users()) {
    auto it = growth_.try_emplace({u.userns_ino, u.uid}, UserGrowth{fresh, fresh}).first;
    it->second.watches.add(now_ns, (double)u.present_watches);
    it->second.instances.add(now_ns, (double)u.instances);
    it->second.sampled_at = evaluations_;
  }
  std::erase_if(growth_, [&](const auto& kv) { return kv.second.sampled_at != evaluations_; });
}

namespace {
std::string_view refusal_cause(const Event& ev) {
  if (ev.err != EMFILE) return "other";
  if (ev.ucount.count < 0 || ev.ucount.max < 0) return "unknown";
  return ev.ucount.count >= ev.ucount.max ? "max_user_instances" : "rlimit_nofile";
}
}  // namespace

void NodeMonitor::note_refusal(const Event& ev) {
  bool charged = ev.ucount.uid != UINT32_MAX;
  RefusedInit r{ev.ts_mono_ns, ev.task.pid, ev.task.comm, charged ? ev.ucount.uid : ev.task.uid,
                charged ? ev.ucount.userns_ino : 0, ev.err, ev.ucount.count, ev.ucount.max, ev.workload};
  InitFailureKey key{r.uid, r.userns_ino, r.err, refusal_cause(ev)};
  if (init_failures_.size() < kMaxInitFailureKeys || init_failures_.count(key))
    init_failures_[key]++;
  else
    init_failures_other_++;
  refusals_.push_back(std::move(r));
  if (refusals_.size() > kRecentRefusals) refusals_.pop_front();
}

void NodeMonitor::step(int timeout_ms) {
  uint64_t snapshot = session_->last_snapshot_start_mono_ns();
  session_->poll(timeout_ms, [&](const Event& ev) {
    events_[ev.type]++;
    recent_.push_back(ev);
    if (ev.type == EventType::InitFailed) note_refusal(ev);
    if (observer_) observer_(ev);
    if (recent_.size() > kRecentEvents) recent_.pop_front();
  });
  // Right after a snapshot (full or digest: candidates can be confirmed) and on the cadence.
  if (session_->last_snapshot_start_mono_ns() != snapshot ||
      WallClock::monotonic_now_ns() - last_eval_ns_ >= (uint64_t)(opts_.evaluate_interval_s * 1e9))
    evaluate_now();
}

std::vector<UserView> NodeMonitor::users() const {
  std::vector<UserView> out = counted_users();
  for (auto& u : out) {
    auto it = growth_.find({u.userns_ino, u.uid});
    if (it == growth_.end()) continue;
    // The kernel's counter meets the limit; it may stand above the count present (a leak).
    double used = (double)std::max<int64_t>(u.kernel_watches, (int64_t)u.present_watches);
    double used_instances = (double)std::max<int64_t>(u.kernel_instances, (int64_t)u.instances);
    u.watches_forecast = it->second.watches.forecast((double)u.max_watches, used);
    u.instances_forecast = it->second.instances.forecast((double)u.max_instances, used_instances);
  }
  return out;
}

std::vector<UserView> NodeMonitor::counted_users() const {
  std::map<UserKey, UserView> rows;
  for (const auto& [g, inst] : session_->table().instances()) {
    uint32_t uid = inst.ucount.uid != UINT32_MAX ? inst.ucount.uid
                                                  : (inst.holders.empty() ? 0 : inst.holders.front().uid);
    UserView& r = rows[{inst.ucount.userns_ino, uid}];
    r.uid = uid;
    r.userns_ino = inst.ucount.userns_ino;
    r.instances++;
    r.present_watches += inst.watches.size();
    if (inst.ucount.max >= 0) r.max_watches = inst.ucount.max;
  }
  for (const auto& u : session_->last_snapshot_users()) {
    auto it = rows.find({u.userns_ino, u.uid});
    if (it == rows.end()) continue;
    it->second.kernel_watches = u.kernel_watches;
    if (u.max_watches >= 0) it->second.max_watches = u.max_watches;
    it->second.count_mismatch = u.count_mismatch();
    it->second.kernel_instances = u.kernel_instances;
    it->second.max_instances = u.max_instances;
  }
  std::vector<UserView> out;
  for (auto& [k, v] : rows) {
    // The sysctl, current, is the initial namespace's limit (the snapshot's figure may be older).
    if (v.userns_ino == kInitUserNsIno) v.max_instances = max_user_instances_;
    out.push_back(v);
  }
  sort_users(out);
  return out;
}

PodRollup NodeMonitor::pod_rollup() const {
  PodRollup r;
  for (const auto& [g, inst] : session_->table().instances()) r.add(inst.holders, inst.watches.size());
  return r;
}

std::vector<ProcessView> NodeMonitor::processes() const {
  absl::flat_hash_map<uint64_t, size_t> leaked_per_group;
  for (const auto& l : detector_.leaks()) leaked_per_group[l.instance.group]++;
  std::map<uint32_t, ProcessView> rows;
  for (const auto& [g, inst] : session_->table().instances()) {
    absl::flat_hash_set<uint32_t> counted;
    for (const auto& h : inst.holders) {
      if (!counted.insert(h.pid).second) continue;
      ProcessView& r = rows[h.pid];
      r.pid = h.pid;
      r.comm = h.comm;
      r.uid = h.uid;
      if (h.workload) r.workload = h.workload;
      r.instances++;
      r.watches += inst.watches.size();
      auto it = leaked_per_group.find(g);
      if (it != leaked_per_group.end()) r.leaked += it->second;
    }
  }
  std::vector<ProcessView> out;
  for (auto& [pid, r] : rows) out.push_back(std::move(r));
  sort_processes(out);
  return out;
}

}  // namespace inotrace
