// The daemon's brain: a trace session's live watch table and node view (the mounts of every
// namespace, refreshed once per tick), the pods root and the leak detector, stepped by one loop; views of all of it for the API, the
// metrics and `inotrace top`. Not thread-safe: the daemon serialises access with its mutex.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <string_view>
#include <memory>
#include <string>
#include <vector>

#include "daemon/growth_forecast.h"
#include "leaks/leak_detector.h"
#include "session/trace_session.h"
#include "snapshot/pod_rollup.h"

namespace inotrace {

struct MonitorOptions {
  SessionOptions session;
  std::string pods_root = "/var/lib/kubelet/pods";
  std::string kubepods_cgroup;     // "" auto-detect, "none" ignore
  double evaluate_interval_s = 0.5;  // leak evaluation cadence (also right after each reconcile)
  int stale_every = 10;            // stale-path checks every N evaluations
  double forecast_window_s = GrowthForecast::kDefaultWindowS;  // EWMA time constant of growth rates
  double forecast_warmup_s = GrowthForecast::kDefaultWarmupS;  // history needed before a forecast
};

struct UserView {
  uint32_t uid = 0;
  uint32_t userns_ino = 0;
  size_t present_watches = 0;
  size_t instances = 0;
  int64_t kernel_watches = -1;  // from the last snapshot (exact at that moment)
  int64_t max_watches = -1;
  int64_t kernel_instances = -1;  // the kernel's count of instances (ucounts) at the last snapshot
  int64_t max_instances = -1;   // max_user_instances of the user's namespace (-1 unknown)
  bool count_mismatch = false;  // at the last snapshot, the kernel counted other than present
  Forecast watches_forecast;    // growth of present watches, time until max_user_watches
  Forecast instances_forecast;  // growth of instances, time until max_user_instances
};

// An inotify_init/init1 the kernel refused (EMFILE: max_user_instances or RLIMIT_NOFILE).
struct RefusedInit {
  uint64_t ts_mono_ns = 0;
  uint32_t pid = 0;
  std::string comm;
  uint32_t uid = 0;         // the uid charged (the caller's euid), else its uid
  uint32_t userns_ino = 0;  // 0 if unknown
  int32_t err = 0;          // positive errno
  int64_t instances = -1;   // the user's instances (the kernel's count) at the refusal; -1 unknown
  int64_t max_instances = -1;
  std::shared_ptr<const Workload> workload;  // pod and container, when known
};

// The key of the refusal counters: bounded by the users on the node times a few errnos.
struct InitFailureKey {
  uint32_t uid = 0;
  uint32_t userns_ino = 0;
  int32_t err = 0;
  // EMFILE has two causes an operator fixes differently: "max_user_instances" (the user's
  // instances reached the limit when refused), "rlimit_nofile" (they had not: the caller's fd
  // limit), "unknown" (no count read); "other" for any other errno.
  std::string_view cause;
  auto operator<=>(const InitFailureKey&) const = default;
};

struct ProcessView {
  uint32_t pid = 0;
  std::string comm;
  uint32_t uid = 0;
  size_t instances = 0;
  size_t watches = 0;
  size_t leaked = 0;
  std::shared_ptr<const Workload> workload;  // its pod and container, if it runs in one
};

class NodeMonitor {
 public:
  NodeMonitor(const MonitorOptions& opts, TraceSession::Log log);

  // Processes events for up to timeout_ms; re-evaluates leaks when due.
  void step(int timeout_ms);

  const TraceSession& session() const { return *session_; }
  TraceSession& session() { return *session_; }
  const LeakDetector& leaks() const { return detector_; }
  const PodIndex& pods() const { return pods_; }
  const std::map<EventType, uint64_t>& events_by_type() const { return events_; }
  // The most recent events (live and reconciled), oldest first, at most kRecentEvents.
  static constexpr size_t kRecentEvents = 10000;
  const std::deque<Event>& recent_events() const { return recent_; }
  std::vector<UserView> users() const;
  std::vector<ProcessView> processes() const;
  PodRollup pod_rollup() const;
  // Refused inotify_init calls since start, per (uid, user namespace, errno), and the latest ones.
  // Users beyond kMaxInitFailureKeys (many user namespaces) are counted together, in
  // init_failures_other(): the metric's series stay bounded.
  static constexpr size_t kRecentRefusals = 20;
  static constexpr size_t kMaxInitFailureKeys = 1000;
  const std::map<InitFailureKey, uint64_t>& init_failures() const { return init_failures_; }
  uint64_t init_failures_other() const { return init_failures_other_; }
  const std::deque<RefusedInit>& recent_refusals() const { return refusals_; }  // per pod, from the holders the snapshots attributed
  uint64_t started_mono_ns() const { return started_ns_; }
  uint64_t evaluations() const { return evaluations_; }
  void evaluate_now();
  // Sees every event as it is applied (repro's per-pod accounting).
  void set_observer(std::function<void(const Event&)> f) { observer_ = std::move(f); }

 private:
  using UserKey = std::pair<uint32_t, uint32_t>;  // (userns, uid)
  struct UserGrowth {
    GrowthForecast watches, instances;
    uint64_t sampled_at = 0;  // evaluation number of the last sample
  };
  std::vector<UserView> counted_users() const;  // users() without the forecasts
  void sample_growth(uint64_t now_ns);
  void note_refusal(const Event& ev);

  MonitorOptions opts_;
  TraceSession::Log log_;
  std::unique_ptr<TraceSession> session_;
  PodIndex pods_;
  LeakDetector detector_;
  std::map<EventType, uint64_t> events_;
  std::deque<Event> recent_;
  std::map<UserKey, UserGrowth> growth_;
  std::map<InitFailureKey, uint64_t> init_failures_;
  uint64_t init_failures_other_ = 0;
  int64_t max_user_instances_ = -1;  // the sysctl, read on each evaluation
  std::deque<RefusedInit> refusals_;
  std::function<void(const Event&)> observer_;
  uint64_t started_ns_ = 0;
  uint64_t last_eval_ns_ = 0;
  uint64_t evaluations_ = 0;
};

}  // namespace inotrace
