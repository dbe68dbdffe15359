// Prometheus metrics (prometheus-cpp), following Prometheus naming: counters end in _total, one
// metric per quantity, build facts in inotrace_build_info. Cardinality is bounded: per (uid, user
// namespace) charged on the node (refused inits also per errno: a handful), the top N commands, the top N pods (+ "other"), and fixed
// enums (leak reason, event type).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <map>
#include <memory>
#include <string>

#include "daemon/node_monitor.h"

namespace inotrace {

class MetricsExporter {
 public:
  explicit MetricsExporter(size_t top_commands = 10, size_t top_pods = 20);
  void update(const NodeMonitor& m);  // call with the monitor's lock held
  std::string render() const;         // text exposition format

 private:
  // Sets the gauges of `family` to `values`, removing label sets that disappeared.
  void set_all(prometheus::Family<prometheus::Gauge>& family, std::map<prometheus::Labels, prometheus::Gauge*>& live,
               const std::map<prometheus::Labels, double>& values);
  // Brings counters up to `values` (totals kept elsewhere since start; they only grow).
  void count_up_to(prometheus::Family<prometheus::Counter>& family,
                   std::map<prometheus::Labels, prometheus::Counter*>& live,
                   const std::map<prometheus::Labels, double>& values);

  void update_users(const NodeMonitor& m);
  void update_pods(const NodeMonitor& m);
  void update_containers(const std::vector<PodRow>& pods);

  size_t top_;
  size_t top_pods_;
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Gauge>& user_watches_;
  prometheus::Family<prometheus::Gauge>& user_kernel_watches_;
  prometheus::Family<prometheus::Gauge>& user_limit_;
  prometheus::Family<prometheus::Gauge>& user_instances_;
  prometheus::Family<prometheus::Gauge>& user_kernel_instances_;
  prometheus::Family<prometheus::Gauge>& user_instances_limit_;
  prometheus::Family<prometheus::Gauge>& user_watches_exhaustion_;
  prometheus::Family<prometheus::Gauge>& user_instances_exhaustion_;
  prometheus::Family<prometheus::Counter>& init_failures_;
  prometheus::Family<prometheus::Gauge>& command_watches_;
  prometheus::Family<prometheus::Gauge>& pod_watches_;
  prometheus::Family<prometheus::Gauge>& pod_instances_;
  prometheus::Family<prometheus::Gauge>& container_watches_;
  prometheus::Family<prometheus::Gauge>& container_instances_;
  prometheus::Family<prometheus::Gauge>& leaked_;
  prometheus::Family<prometheus::Counter>& events_;
  prometheus::Family<prometheus::Counter>& dropped_;
  prometheus::Family<prometheus::Counter>& corrections_;
  prometheus::Family<prometheus::Counter>& reconciles_;
  prometheus::Family<prometheus::Counter>& log_failures_;
  prometheus::Family<prometheus::Counter>& paths_refused_;
  prometheus::Family<prometheus::Counter>& unsequenced_;
  prometheus::Family<prometheus::Counter>& instances_collected_;
  prometheus::Family<prometheus::Gauge>& watches_;
  prometheus::Family<prometheus::Gauge>& instances_;
  prometheus::Family<prometheus::Gauge>& stale_watches_;
  prometheus::Family<prometheus::Gauge>& build_info_;
  std::map<prometheus::Labels, prometheus::Gauge*> live_user_, live_kernel_, live_limit_, live_user_instances_,
      live_user_instances_limit_, live_command_, live_pod_watches_, live_pod_instances_, live_container_watches_, live_container_instances_, live_leaked_, live_watches_, live_instances_, live_stale_,
      live_build_info_, live_kernel_instances_, live_watches_exhaustion_, live_instances_exhaustion_;
  std::map<prometheus::Labels, prometheus::Counter*> live_events_, live_dropped_, live_corrections_, live_reconciles_,
      live_log_failures_, live_init_failures_, live_paths_refused_, live_unsequenced_, live_instances_collected_;
};

}  // namespace inotrace
