#include "serve/metrics_exporter.h"

#include <prometheus/text_serializer.h>

#include "events/names.h"
#include "util/log.h"
#include "util/text_encoding.h"

#ifndef INOTRACE_VERSION
#define INOTRACE_VERSION "unknown"
#endif

namespace inotrace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::Labels;

MetricsExporter::MetricsExporter(size_t top_commands, size_t top_pods)
    : top_(top_commands),
      top_pods_(top_pods),
      registry_(std::make_shared<prometheus::Registry>()),
      user_watches_(BuildGauge().Name("inotrace_user_watches").Help("Inotify watches present, per charged user (uid, user namespace)").Register(*registry_)),
      user_kernel_watches_(BuildGauge().Name("inotrace_user_watches_kernel").Help("The kernel's own count of the user's watches (ucounts) at the last snapshot").Register(*registry_)),
      user_limit_(BuildGauge().Name("inotrace_user_watches_limit").Help("max_user_watches of the user's namespace").Register(*registry_)),
      user_instances_(BuildGauge().Name("inotrace_user_instances").Help("Inotify instances present, per charged user (uid, user namespace)").Register(*registry_)),
      user_kernel_instances_(BuildGauge().Name("inotrace_user_instances_kernel").Help("The kernel's own count of the user's inotify instances (ucounts) at the last snapshot").Register(*registry_)),
      user_instances_limit_(BuildGauge().Name("inotrace_user_instances_limit").Help("max_user_instances (known for the initial user namespace only)").Register(*registry_)),
      user_watches_exhaustion_(BuildGauge().Name("inotrace_user_watches_exhaustion_seconds").Help("Seconds until the user's watches reach max_user_watches at their growth rate (EWMA, --forecast-window); +Inf when not growing").Register(*registry_)),
      user_instances_exhaustion_(BuildGauge().Name("inotrace_user_instances_exhaustion_seconds").Help("Seconds until the user's instances reach max_user_instances at their growth rate (EWMA, --forecast-window); +Inf when not growing").Register(*registry_)),
      init_failures_(BuildCounter().Name("inotrace_init_failures_total").Help("inotify_init/init1 calls the kernel refused since start, per charged user and errno (EMFILE: max_user_instances or RLIMIT_NOFILE)").Register(*registry_)),
      command_watches_(BuildGauge().Name("inotrace_command_watches").Help("Watches held by the top commands").Register(*registry_)),
      pod_watches_(BuildGauge().Name("inotrace_pod_watches").Help("Watches held by the processes of the top pods (the rest: pod=\"other\")").Register(*registry_)),
      pod_instances_(BuildGauge().Name("inotrace_pod_instances").Help("Inotify instances held by the processes of the top pods (the rest: pod=\"other\")").Register(*registry_)),
      container_watches_(BuildGauge().Name("inotrace_container_watches").Help("Watches held by the processes of the top containers (the rest: pod=\"other\", container=\"other\")").Register(*registry_)),
      container_instances_(BuildGauge().Name("inotrace_container_instances").Help("Inotify instances held by the processes of the top containers (the rest: pod=\"other\", container=\"other\")").Register(*registry_)),
      leaked_(BuildGauge().Name("inotrace_leaked_watches").Help("Watches whose pod is gone (pod_deleted) or orphaned (pod_orphaned)").Register(*registry_)),
      events_(BuildCounter().Name("inotrace_events_total").Help("Events seen since start, by type (includes ones found by reconciliation)").Register(*registry_)),
      dropped_(BuildCounter().Name("inotrace_dropped_events_total").Help("Events lost since start (ring buffer full, untracked syscalls, undecodable)").Register(*registry_)),
      corrections_(BuildCounter().Name("inotrace_reconcile_corrections_total").Help("Differences between the table and a snapshot, corrected since start").Register(*registry_)),
      reconciles_(BuildCounter().Name("inotrace_reconciles_total").Help("Snapshots reconciled against the table since start").Register(*registry_)),
      log_failures_(BuildCounter().Name("inotrace_log_write_failures_total").Help("stderr lines that could not be written (closed, full, a dead pipe) and were dropped").Register(*registry_)),
      paths_refused_(BuildCounter().Name("inotrace_paths_refused_total").Help("Times a watch's path was not stored because the path table reached its limits (2^28 nodes or 2 GiB of names): the watch shows no path (a reconcile tries again)").Register(*registry_)),
      unsequenced_(BuildCounter().Name("inotrace_unsequenced_instances_total").Help("Inotify instances the kernel-side table of instance numbers had no room for since start: their records may be matched to an older instance at the same address").Register(*registry_)),
      instances_collected_(BuildCounter().Name("inotrace_ended_instances_collected_total").Help("Ended instances whose numbers were taken out of the kernel-side table since start (6.1+, where it allocates on demand)").Register(*registry_)),
      watches_(BuildGauge().Name("inotrace_watches").Help("Inotify watches present on the node").Register(*registry_)),
      instances_(BuildGauge().Name("inotrace_instances").Help("Inotify instances present on the node").Register(*registry_)),
      stale_watches_(BuildGauge().Name("inotrace_stale_watches").Help("Watches whose path no longer names the watched inode").Register(*registry_)),
      build_info_(BuildGauge().Name("inotrace_build_info").Help("inotrace version and the tracing backend in use (value 1)").Register(*registry_)) {}

void MetricsExporter::set_all(prometheus::Family<prometheus::Gauge>& family, std::map<Labels, prometheus::Gauge*>& live,
                              const std::map<Labels, double>& values) {
  for (auto it = live.begin(); it != live.end();) {
    if (!values.count(it->first)) {
      family.Remove(it->second);
      it = live.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [labels, v] : values) {
    auto& g = live[labels];
    if (!g) g = &family.Add(labels);
    g->Set(v);
  }
}

void MetricsExporter::count_up_to(prometheus::Family<prometheus::Counter>& family,
                                  std::map<Labels, prometheus::Counter*>& live, const std::map<Labels, double>& values) {
  for (const auto& [labels, v] : values) {
    auto& c = live[labels];
    if (!c) c = &family.Add(labels);
    if (v > c->Value()) c->Increment(v - c->Value());
  }
}

// Per charged user: counts, limits, forecasts (absent while unknown) and refused inits.
void MetricsExporter::update_users(const NodeMonitor& m) {
  std::map<Labels, double> present, kernel, limit, instances, kernel_instances, instances_limit, watches_left, instances_left, refused;
  for (const auto& u : m.users()) {
    Labels l{{"uid", std::to_string(u.uid)}, {"user_ns", std::to_string(u.userns_ino)}};
    present[l] = u.present_watches;
    if (u.kernel_watches >= 0) kernel[l] = u.kernel_watches;
    if (u.max_watches >= 0) limit[l] = u.max_watches;
    instances[l] = u.instances;
    if (u.kernel_instances >= 0) kernel_instances[l] = u.kernel_instances;
    if (u.max_instances >= 0) instances_limit[l] = u.max_instances;
    if (u.watches_forecast.seconds_to_limit) watches_left[l] = *u.watches_forecast.seconds_to_limit;
    if (u.instances_forecast.seconds_to_limit) instances_left[l] = *u.instances_forecast.seconds_to_limit;
  }
  for (const auto& [k, n] : m.init_failures())
    refused[{{"uid", std::to_string(k.uid)}, {"user_ns", std::to_string(k.userns_ino)}, {"errno", errno_name(k.err)},
             {"cause", std::string(k.cause)}}] = n;
  if (m.init_failures_other())
    refused[{{"uid", "other"}, {"user_ns", "other"}, {"errno", "other"}, {"cause", "other"}}] = m.init_failures_other();
  set_all(user_watches_, live_user_, present);
  set_all(user_kernel_watches_, live_kernel_, kernel);
  set_all(user_limit_, live_limit_, limit);
  set_all(user_instances_, live_user_instances_, instances);
  set_all(user_kernel_instances_, live_kernel_instances_, kernel_instances);
  set_all(user_instances_limit_, live_user_instances_limit_, instances_limit);
  set_all(user_watches_exhaustion_, live_watches_exhaustion_, watches_left);
  set_all(user_instances_exhaustion_, live_instances_exhaustion_, instances_left);
  count_up_to(init_failures_, live_init_failures_, refused);
}

void MetricsExporter::update(const NodeMonitor& m) {
  std::map<Labels, double> commands, leaked, events;
  update_users(m);
  std::map<std::string, double> by_comm;
  // Label values must be UTF-8 (or the whole page is rejected): a process chooses its own name,
  // so invalid bytes become U+FFFD, as in the JSON API's comm.
  for (const auto& p : m.processes()) by_comm[sanitize_utf8(p.comm)] += p.watches;
  std::vector<std::pair<double, std::string>> ranked;
  for (const auto& [c, n] : by_comm) ranked.emplace_back(n, c);
  std::sort(ranked.rbegin(), ranked.rend());
  for (size_t i = 0; i < ranked.size() && i < top_; i++) commands[{{"comm", ranked[i].second}}] = ranked[i].first;
  for (const char* r : {"pod_deleted", "pod_orphaned"}) leaked[{{"reason", r}}] = m.leaks().leaked_count(r);
  for (EventType t : {EventType::Add, EventType::Update, EventType::AddFailed, EventType::Remove,
                      EventType::InstanceCreate, EventType::InstanceDestroy, EventType::InitFailed}) {
    auto it = m.events_by_type().find(t);
    events[{{"type", std::string(event_type_name(t))}}] = it == m.events_by_type().end() ? 0 : it->second;
  }
  auto c = m.session().counters();
  set_all(command_watches_, live_command_, commands);
  update_pods(m);
  set_all(leaked_, live_leaked_, leaked);
  count_up_to(events_, live_events_, events);
  count_up_to(dropped_, live_dropped_, {{{}, (double)(c.tracer.ringbuf_drops + c.tracer.pending_full + c.tracer.decode_errors)}});
  count_up_to(corrections_, live_corrections_, {{{}, (double)c.corrections.corrections()}});
  count_up_to(reconciles_, live_reconciles_, {{{}, (double)c.reconciles}});
  count_up_to(log_failures_, live_log_failures_, {{{}, (double)log_write_failures()}});
  count_up_to(paths_refused_, live_paths_refused_, {{{}, (double)m.session().table().paths().refused()}});
  count_up_to(unsequenced_, live_unsequenced_, {{{}, (double)c.tracer.groups_full}});
  count_up_to(instances_collected_, live_instances_collected_, {{{}, (double)c.dead_groups_collected}});
  set_all(watches_, live_watches_, {{{}, (double)m.session().table().watch_count()}});
  set_all(instances_, live_instances_, {{{}, (double)m.session().table().instance_count()}});
  set_all(stale_watches_, live_stale_, {{{}, (double)m.leaks().stale().size()}});
  set_all(build_info_, live_build_info_,
          {{{{"version", INOTRACE_VERSION}, {"backend", std::string(backend_name(m.session().backend()))}}, 1}});
}

// The top pods by watches, each as {namespace, pod} (the pod's name, or its uid where the
// runtime's state gives none); every other pod summed as {namespace="", pod="other"}.
void MetricsExporter::update_pods(const NodeMonitor& m) {
  std::map<Labels, double> watches, instances;
  std::vector<PodRow> pods = m.pod_rollup().pods();
  for (size_t i = 0; i < pods.size(); i++) {
    const Workload& p = pods[i].pod;
    Labels l = i < top_pods_ ? Labels{{"namespace", sanitize_utf8(p.pod_namespace)},
                                      {"pod", sanitize_utf8(p.pod_name.empty() ? p.pod_uid : p.pod_name)}}
                             : Labels{{"namespace", ""}, {"pod", "other"}};
    watches[l] += pods[i].watches;
    instances[l] += pods[i].instances;
  }
  set_all(pod_watches_, live_pod_watches_, watches);
  set_all(pod_instances_, live_pod_instances_, instances);
  update_containers(pods);
}

// The same for the top containers, each as {namespace, pod, container} (its name, or its id).
void MetricsExporter::update_containers(const std::vector<PodRow>& pods) {
  struct Row {
    const PodRow* pod;
    const std::string* container;
    ContainerCounts counts;
  };
  std::vector<Row> rows;
  for (const auto& p : pods)
    for (const auto& [name, counts] : p.by_container) rows.push_back({&p, &name, counts});
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.counts.watches > b.counts.watches; });
  std::map<Labels, double> watches, instances;
  for (size_t i = 0; i < rows.size(); i++) {
    const Workload& p = rows[i].pod->pod;
    Labels l = i < top_pods_ ? Labels{{"namespace", sanitize_utf8(p.pod_namespace)},
                                      {"pod", sanitize_utf8(p.pod_name.empty() ? p.pod_uid : p.pod_name)},
                                      {"container", sanitize_utf8(*rows[i].container)}}
                             : Labels{{"namespace", ""}, {"pod", "other"}, {"container", "other"}};
    watches[l] += rows[i].counts.watches;
    instances[l] += rows[i].counts.instances;
  }
  set_all(container_watches_, live_container_watches_, watches);
  set_all(container_instances_, live_container_instances_, instances);
}

std::string MetricsExporter::render() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace inotrace
