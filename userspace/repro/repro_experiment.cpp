#include "repro/repro_experiment.h"

#include <fmt/format.h>
#include <sys/utsname.h>

#include <set>

#include "util/stop_signal.h"
#include "events/names.h"
#include "repro/pod_scenario.h"
#include "util/wall_clock.h"

namespace inotrace::repro {

namespace {

struct LivePod {
  PodPaths paths;
  std::optional<Watcher> watcher;
  pid_t watcher_pid = -1;
  double created_at = 0;
  bool deleted = false;
};

std::string kernel_release() {
  utsname u{};
  uname(&u);
  return u.release;
}

// Pod i is pinned when the running count of pinned pods crosses an integer: spreads
// round(N * f) pinned pods evenly over the run.
bool pinned_at(int i, double f) { return (int)((i + 1) * f + 1e-9) > (int)(i * f + 1e-9); }

MonitorOptions monitor_options(const ReproOptions& opts, const PodScenario& sc) {
  MonitorOptions mo;
  mo.session = opts.session;
  mo.session.reconcile_all_backends = true;
  mo.session.hooked_reconcile_interval_s = 30;
  mo.pods_root = sc.pods_root();
  mo.kubepods_cgroup = "none";
  mo.evaluate_interval_s = 0.25;
  return mo;
}

// One run: pods created at the rate, deleted after their lifetime, the table sampled as it
// goes. Members are declared in the order they must be built; they go in reverse: watchers,
// then the monitor, the scenario's helpers and mounts, and the scratch tree last.
class Experiment {
 public:
  Experiment(const ReproOptions& opts, TraceSession::Log log, ReproReport& rep)
      : opts_(opts), log_(std::move(log)), rep_(rep), root_(opts.out_dir), sc_(root_), monitor_(monitor_options(opts, sc_), log_) {
    rep_.scratch_root = root_.path();
    rep_.backend = std::string(backend_name(monitor_.session().backend()));
    monitor_.set_observer([this](const Event& ev) { count(ev); });
    t0_ = WallClock::monotonic_now_ns();
  }

  void run() {
    double interval = opts_.rate > 0 ? 1.0 / opts_.rate : 0;
    while (!stop_requested()) {
      delete_expired_pods();
      if (created_ < opts_.pods && now_s() >= created_ * interval) create_pod();
      if (created_ == opts_.pods && std::all_of(pods_.begin(), pods_.end(), [](const LivePod& p) { return p.deleted; })) break;
      monitor_.step(10);
      sample();
    }
    for (double until = now_s() + opts_.settle_s; now_s() < until && !stop_requested();) {
      monitor_.step(20);
      sample();
    }
    monitor_.evaluate_now();
    rep_.interrupted = stop_requested();
    collect();
    pods_.clear();  // the watchers first
  }

 private:
  double now_s() const { return (WallClock::monotonic_now_ns() - t0_) / 1e9; }

  void count(const Event& ev) {
    auto it = by_watcher_.find((pid_t)ev.task.pid);
    if (it == by_watcher_.end()) return;
    PodResult& r = results_[it->second];
    if (ev.type == EventType::Add) r.added++;
    if (ev.type == EventType::Remove) r.removed[std::string(reason_name(ev.reason))]++;
  }

  // kubelet deletes pods whose lifetime is over
  void delete_expired_pods() {
    for (auto& lp : pods_)
      if (!lp.deleted && now_s() - lp.created_at >= opts_.lifetime_s) {
        sc_.delete_pod(lp.paths);
        lp.deleted = true;
      }
  }

  void create_pod() {
    PodSpec spec;
    spec.pinning = pinned_at(created_, opts_.pin_fraction) ? Pinning::MounterSameNamespace : Pinning::None;
    LivePod lp;
    lp.paths = sc_.create_pod(spec);
    auto paths = PodScenario::default_watch_paths(lp.paths);
    if (opts_.watcher.empty()) {
      lp.watcher.emplace(sc_.start_watcher(paths));
      lp.watcher_pid = lp.watcher->pid();
    } else {
      lp.watcher_pid = sc_.start_external_watcher(opts_.watcher, paths);
    }
    lp.created_at = now_s();
    by_watcher_[lp.watcher_pid] = pods_.size();
    results_[pods_.size()].uid = lp.paths.uid;
    results_[pods_.size()].pinned = spec.pinning != Pinning::None;
    pods_.push_back(std::move(lp));
    created_++;
  }

  // At most every 0.1 s: pods alive, our watchers' watches, every user's, the leaked ones.
  void sample() {
    if (now_s() - last_sample_ < 0.1) return;
    last_sample_ = now_s();
    TimelinePoint p;
    p.t = last_sample_;
    for (const auto& lp : pods_) p.pods_alive += !lp.deleted;
    for (const auto& [g, inst] : monitor_.session().table().instances()) {
      bool ours = std::any_of(inst.holders.begin(), inst.holders.end(), [&](const Holder& h) { return by_watcher_.count(h.pid); });
      if (ours) p.live_watches += inst.watches.size();
      uint32_t uid = inst.ucount.uid != UINT32_MAX ? inst.ucount.uid : 0;
      p.user_watches[uid] += inst.watches.size();
    }
    for (const auto& l : monitor_.leaks().leaks()) p.leaked_watches += by_watcher_.count(l.pid);
    rep_.timeline.push_back(std::move(p));
  }

  void collect() {
    for (const auto& l : monitor_.leaks().leaks()) {
      auto it = by_watcher_.find((pid_t)l.pid);
      if (it == by_watcher_.end()) continue;
      PodResult& r = results_[it->second];
      r.leaked++;
      if (opts_.session.tracer.capture_stacks) rep_.leaked_stacks.emplace_back(l.stack, r.uid);
      if (r.pinned_by.empty()) r.pinned_by = l.pinned_by;
    }
    for (auto& [i, r] : results_) rep_.pods.push_back(r);
    rep_.duration_s = now_s();
  }

  const ReproOptions& opts_;
  TraceSession::Log log_;
  ReproReport& rep_;
  ScratchRoot root_;
  PodScenario sc_;
  NodeMonitor monitor_;
  std::vector<LivePod> pods_;
  std::map<pid_t, size_t> by_watcher_;  // watcher pid -> index in pods_
  std::map<size_t, PodResult> results_;
  uint64_t t0_ = 0;
  double last_sample_ = -1;
  int created_ = 0;
};

}  // namespace

ReproReport run_experiment(const ReproOptions& opts, TraceSession::Log log) {
  ReproReport rep;
  rep.options = opts;
  rep.kernel = kernel_release();
  auto stale = ScratchRoot::cleanup_stale(opts.out_dir);
  for (const auto& path : stale.removed)
    log(fmt::format("repro: removed a scratch root left by an interrupted run: {}", path));
  for (const auto& why : stale.refused) log(fmt::format("repro: left alone {}", why));
  Experiment(opts, log, rep).run();
  return rep;
}

}  // namespace inotrace::repro
