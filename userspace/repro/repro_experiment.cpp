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

}  // namespace

ReproReport run_experiment(const ReproOptions& opts, TraceSession::Log log) {
  ReproReport rep;
  rep.options = opts;
  rep.kernel = kernel_release();
  auto stale = ScratchRoot::cleanup_stale(opts.out_dir);
  for (const auto& path : stale.removed)
    log(fmt::format("repro: removed a scratch root left by an interrupted run: {}", path));
  for (const auto& why : stale.refused) log(fmt::format("repro: left alone {}", why));

  ScratchRoot root(opts.out_dir);
  rep.scratch_root = root.path();
  PodScenario sc(root);

  MonitorOptions mo;
  mo.session = opts.session;
  mo.session.reconcile_all_backends = true;
  mo.session.hooked_reconcile_interval_s = 30;
  mo.pods_root = sc.pods_root();
  mo.kubepods_cgroup = "none";
  mo.evaluate_interval_s = 0.25;
  NodeMonitor monitor(mo, log);
  rep.backend = std::string(backend_name(monitor.session().backend()));

  std::vector<LivePod> pods;
  std::map<pid_t, size_t> by_watcher;  // watcher pid -> index in pods
  std::map<size_t, PodResult> results;
  monitor.set_observer([&](const Event& ev) {
    auto it = by_watcher.find((pid_t)ev.task.pid);
    if (it == by_watcher.end()) return;
    PodResult& r = results[it->second];
    if (ev.type == EventType::Add) r.added++;
    if (ev.type == EventType::Remove) r.removed[std::string(reason_name(ev.reason))]++;
  });

  uint64_t t0 = WallClock::monotonic_now_ns();
  auto now_s = [&] { return (WallClock::monotonic_now_ns() - t0) / 1e9; };
  double last_sample = -1;
  auto sample = [&] {
    if (now_s() - last_sample < 0.1) return;
    last_sample = now_s();
    TimelinePoint p;
    p.t = last_sample;
    for (const auto& lp : pods) p.pods_alive += !lp.deleted;
    for (const auto& [g, inst] : monitor.session().table().instances()) {
      bool ours = std::any_of(inst.holders.begin(), inst.holders.end(), [&](const Holder& h) { return by_watcher.count(h.pid); });
      if (ours) p.live_watches += inst.watches.size();
      uint32_t uid = inst.ucount.uid != UINT32_MAX ? inst.ucount.uid : 0;
      p.user_watches[uid] += inst.watches.size();
    }
    for (const auto& l : monitor.leaks().leaks()) p.leaked_watches += by_watcher.count(l.pid);
    rep.timeline.push_back(std::move(p));
  };
  auto run_for = [&](double seconds) {
    double until = now_s() + seconds;
    while (now_s() < until && !stop_requested()) {
      monitor.step(20);
      sample();
    }
  };

  double interval = opts.rate > 0 ? 1.0 / opts.rate : 0;
  int created = 0;
  while (!stop_requested()) {
    double t = now_s();
    // kubelet deletes pods whose lifetime is over
    for (auto& lp : pods)
      if (!lp.deleted && t - lp.created_at >= opts.lifetime_s) {
        sc.delete_pod(lp.paths);
        lp.deleted = true;
      }
    if (created < opts.pods && t >= created * interval) {
      PodSpec spec;
      spec.pinning = pinned_at(created, opts.pin_fraction) ? Pinning::MounterSameNamespace : Pinning::None;
      LivePod lp;
      lp.paths = sc.create_pod(spec);
      auto paths = PodScenario::default_watch_paths(lp.paths);
      if (opts.watcher.empty()) {
        lp.watcher.emplace(sc.start_watcher(paths));
        lp.watcher_pid = lp.watcher->pid();
      } else {
        lp.watcher_pid = sc.start_external_watcher(opts.watcher, paths);
      }
      lp.created_at = t;
      by_watcher[lp.watcher_pid] = pods.size();
      results[pods.size()].uid = lp.paths.uid;
      results[pods.size()].pinned = spec.pinning != Pinning::None;
      pods.push_back(std::move(lp));
      created++;
    }
    if (created == opts.pods && std::all_of(pods.begin(), pods.end(), [](const LivePod& p) { return p.deleted; })) break;
    monitor.step(10);
    sample();
  }
  run_for(opts.settle_s);
  monitor.evaluate_now();
  rep.interrupted = stop_requested();

  for (const auto& l : monitor.leaks().leaks()) {
    auto it = by_watcher.find((pid_t)l.pid);
    if (it == by_watcher.end()) continue;
    PodResult& r = results[it->second];
    r.leaked++;
    if (r.pinned_by.empty()) r.pinned_by = l.pinned_by;
  }
  for (auto& [i, r] : results) rep.pods.push_back(r);
  rep.duration_s = now_s();
  // Watchers, helpers, mounts and the scratch tree go with `pods`, `sc` and `root`.
  pods.clear();
  return rep;
}

}  // namespace inotrace::repro
