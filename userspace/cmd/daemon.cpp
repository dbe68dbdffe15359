#include "cmd/daemon.h"

#include <fmt/format.h>

#include <mutex>
#include <set>

#include "cmd/stop_signal.h"
#include "serve/api_views.h"
#include "serve/http_server.h"
#include "serve/metrics_exporter.h"
#include "util/error.h"
#include "util/text_encoding.h"
#include "util/wall_clock.h"

namespace inotrace {

namespace {

HttpResponse json_response(const nlohmann::ordered_json& j) {
  return HttpResponse{200, "application/json", j.dump() + "\n"};
}

std::optional<uint32_t> uint_param(const HttpRequest& r, const char* key) {
  auto it = r.query.find(key);
  if (it == r.query.end() || it->second.empty()) return std::nullopt;
  try {
    return (uint32_t)std::stoul(it->second);
  } catch (...) {
    throw Error(fmt::format("bad {}", key));
  }
}

}  // namespace

int run_daemon(DaemonCommandOptions opts) {
  auto log = [](const std::string& s) { fmt::print(stderr, "inotrace: {}\n", s); };
  opts.monitor.session.tracer.log = log;
  opts.monitor.session.reconcile_all_backends = true;
  opts.monitor.session.back_off_when_idle = true;
  opts.monitor.session.hooked_reconcile_interval_s = opts.hooked_reconcile_interval_s;
  if (!is_loopback_listen(opts.listen))
    log(fmt::format("warning: serving on a non-loopback address ({}) as asked", opts.listen));

  NodeMonitor monitor(opts.monitor, log);
  if (monitor.session().backend() != Backend::Tracepoint)
    log(fmt::format("backend {} sees removals live; safety-net snapshots every {} s", backend_name(monitor.session().backend()),
                    opts.hooked_reconcile_interval_s));
  std::mutex mu;
  MetricsExporter metrics;

  auto locked = [&](auto f) {
    return [&mu, f](const HttpRequest& r) -> HttpResponse {
      std::lock_guard lock(mu);
      try {
        return f(r);
      } catch (const Error& e) {
        return HttpResponse{400, "text/plain", std::string(e.what()) + "\n"};
      }
    };
  };
  std::map<std::string, HttpServer::Handler> routes = {
      {"/metrics", locked([&](const HttpRequest&) {
         metrics.update(monitor);
         return HttpResponse{200, "text/plain; version=0.0.4", metrics.render()};
       })},
      {"/api/leaks", locked([&](const HttpRequest&) { return json_response(leaks_json(monitor)); })},
      {"/api/watches", locked([&](const HttpRequest& r) {
         WatchQuery q;
         q.pid = uint_param(r, "pid");
         if (r.query.count("comm")) q.comm = r.query.at("comm");
         q.limit = uint_param(r, "limit").value_or(0);
         return json_response(watches_json(monitor, q));
       })},
      {"/api/users", locked([&](const HttpRequest&) { return json_response(users_json(monitor)); })},
      {"/api/processes", locked([&](const HttpRequest& r) {
         return json_response(processes_json(monitor, uint_param(r, "limit").value_or(0)));
       })},
      {"/api/status", locked([&](const HttpRequest&) { return json_response(status_json(monitor)); })},
      {"/api/events", locked([&](const HttpRequest& r) {
         return json_response(events_json(monitor, uint_param(r, "limit").value_or(0)));
       })},
      {"/healthz", [](const HttpRequest&) { return HttpResponse{200, "text/plain", "ok\n"}; }},
  };
  HttpServer server(opts.listen, routes);
  install_stop_signals();
  log(fmt::format("daemon: {} watches in {} instances; serving http://{} (/metrics, /api/leaks, /api/watches, "
                  "/api/users, /api/processes, /api/status, /api/events); backend {}",
                  monitor.session().table().watch_count(), monitor.session().table().instance_count(), opts.listen,
                  backend_name(monitor.session().backend())));

  uint64_t start = WallClock::monotonic_now_ns();
  std::set<std::tuple<uint64_t, int32_t>> reported;
  while (!stop_requested()) {
    if (opts.duration_s > 0 && WallClock::monotonic_now_ns() - start >= opts.duration_s * 1e9) break;
    std::lock_guard lock(mu);
    uint64_t evals = monitor.evaluations();
    monitor.step(50);
    if (monitor.evaluations() != evals) {  // log leaks as they appear
      std::set<std::tuple<uint64_t, int32_t>> now;
      for (const auto& l : monitor.leaks().leaks()) {
        now.insert({l.instance.group, l.wd});
        if (reported.count({l.instance.group, l.wd})) continue;
        std::string pins;
        for (const auto& p : l.pinned_by) pins += fmt::format(" [mnt:{} pid {} {}]", p.mnt_ns, p.pid, escape_for_text(p.mount_point));
        log(fmt::format("leak: {} pod {}: pid {} ({}) wd {} on {}:{} {}; pinned by{}", l.reason, l.pod_uid, l.pid,
                        escape_for_text(l.comm), l.wd, l.dev.str(), l.ino, escape_for_text(l.path),
                        pins.empty() ? " nothing mounted (lazily detached?)" : pins));
      }
      reported = std::move(now);
    }
  }
  auto c = monitor.session().counters();
  log(fmt::format("daemon: stopping; {} watches, {} leaks, {} reconciles ({} corrections; {} digest checks found "
                  "nothing to reconcile), {} dropped",
                  monitor.session().table().watch_count(), monitor.leaks().leaks().size(), c.reconciles,
                  c.corrections.corrections(), c.digest_checks, c.tracer.ringbuf_drops));
  return 0;
}

}  // namespace inotrace
