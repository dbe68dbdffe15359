#include "cmd/daemon.h"

#include <fmt/format.h>
#include <malloc.h>
#include <poll.h>

#include <atomic>
#include <climits>
#include <memory>
#include <mutex>
#include <set>

#include "util/stop_signal.h"
#include "serve/daemon_health.h"
#include "serve/api_token.h"
#include "serve/api_views.h"
#include "serve/http_server.h"
#include "serve/listen_address.h"
#include "serve/metrics_exporter.h"
#include "util/error.h"
#include "util/log.h"
#include "util/text_encoding.h"
#include "util/wall_clock.h"

namespace inotrace {

namespace {

HttpResponse json_response(const nlohmann::ordered_json& j) { return HttpResponse{200, "application/json", j.dump() + "\n", {}}; }

constexpr uint64_t kMaxListLimit = 1000000;

// glibc keeps what a large response or a full snapshot freed in the arena of the thread that
// used it, for good. Both raise this flag when done; the daemon's loop then gives the memory
// back to the kernel (malloc_trim, ~ms; at most once a second, without the lock).
std::atomic<bool> memory_to_release{false};
void release_freed_memory() { memory_to_release = true; }

// A large document made under the lock, written without it, its memory released after.
HttpResponse in_pieces(std::string text) {
  auto doc = std::make_shared<std::string>(std::move(text));
  return HttpResponse{200, "application/json", "", [doc, pos = size_t(0)](std::string& out) mutable {
                        constexpr size_t kPiece = 64 * 1024;
                        out.append(*doc, pos, kPiece);
                        pos += kPiece;
                        if (pos < doc->size()) return true;
                        std::string().swap(*doc);
                        release_freed_memory();
                        return false;
                      }};
}

}  // namespace

int run_daemon(DaemonCommandOptions opts) {
  // A long-lived process with bursts (full snapshots, large responses): fixed thresholds stop
  // glibc from raising them after each burst (up to 32 MiB mmap / 64 MiB trim) and keeping
  // that much freed memory for good; buffers above 256 KiB are mapped and unmapped directly.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
  mallopt(M_ARENA_MAX, 2);  // the HTTP threads would each keep an arena of freed memory
  auto log = [](const std::string& s) { log_line(s); };
  opts.monitor.session.tracer.log = log;
  opts.monitor.session.reconcile_all_backends = true;
  opts.monitor.session.back_off_when_idle = true;
  opts.monitor.session.hooked_reconcile_interval_s = opts.hooked_reconcile_interval_s;
  if (auto warning = listen_warning(opts.api_listen)) log(*warning);

  // The servers answer from the start: /healthz says the process lives while the BPF programs
  // attach and the first snapshot seeds the table (seconds with a million watches); /readyz
  // and everything that reads the table answer 503 until then. The loop below steps the
  // monitor; the HTTP threads read it: one at a time, under `mu`.
  std::mutex mu;
  std::unique_ptr<NodeMonitor> monitor_owner;
  NodeMonitor* monitor = nullptr;  // set under `mu` once seeded
  DaemonHealth health;
  MetricsExporter metrics;
  std::mutex published_mu;        // guards only the page below
  std::string published_metrics;  // the /metrics page, rendered by the loop
  auto publish_metrics = [&] {
    metrics.update(*monitor);
    std::string page = metrics.render();
    std::lock_guard lock(published_mu);
    published_metrics.swap(page);
  };

  auto starting = [] { return HttpResponse{503, "text/plain", "starting: attaching BPF programs and seeding the table\n", {}}; };
  auto locked = [&](auto f) {
    return [&mu, &monitor, starting, f](const HttpRequest& r) -> HttpResponse {
      std::lock_guard lock(mu);
      if (!monitor) return starting();
      return f(r);
    };
  };
  auto no_params = [](auto f) {
    return [f](const HttpRequest& r) {
      expect_only_params(r, {});
      return f(r);
    };
  };
  std::map<std::string, HttpRoute> routes = {
      {"/healthz", {Access::Open, no_params([&](const HttpRequest&) { return health.liveness(); })}},
      {"/readyz", {Access::Open, no_params([&](const HttpRequest&) { return health.readiness(); })}},
      // A scrape never waits on the loop (a full snapshot of 100k watches holds it for tens of
      // ms): it gets the page the loop last published.
      {"/metrics", {Access::Open, no_params([&](const HttpRequest&) {
                      std::lock_guard lock(published_mu);
                      if (published_metrics.empty()) return starting();
                      return HttpResponse{200, "text/plain; version=0.0.4", published_metrics, {}};
                    })}},
      {"/api/leaks", {Access::Token, no_params(locked([&](const HttpRequest&) { return json_response(leaks_json(*monitor)); }))}},
      {"/api/watches", {Access::Token, locked([&](const HttpRequest& r) {
                          expect_only_params(r, {"pid", "comm", "limit", "cursor"});
                          WatchQuery q;
                          if (auto pid = uint_param(r, "pid", 1, INT32_MAX)) q.pid = (uint32_t)*pid;
                          if (r.query.count("comm")) q.comm = r.query.at("comm");
                          q.limit = uint_param(r, "limit", 1, kMaxWatchPage).value_or(kDefaultWatchPage);
                          if (r.query.count("cursor")) q.cursor = r.query.at("cursor");
                          auto page = std::make_shared<WatchPageWriter>(q);
                          // The lock is taken per piece, never while the server writes.
                          return HttpResponse{200, "application/json", "", [&mu, m = monitor, page](std::string& out) {
                                                std::unique_lock lock(mu);
                                                if (page->next(*m, out)) return true;
                                                lock.unlock();
                                                release_freed_memory();
                                                return false;
                                              }};
                        })}},
      {"/api/users", {Access::Token, no_params(locked([&](const HttpRequest&) { return json_response(users_json(*monitor)); }))}},
      {"/api/processes", {Access::Token, locked([&](const HttpRequest& r) {
                            expect_only_params(r, {"limit"});
                            return json_response(processes_json(*monitor, uint_param(r, "limit", 1, kMaxListLimit).value_or(0)));
                          })}},
      {"/api/status", {Access::Token, no_params(locked([&](const HttpRequest&) { return json_response(status_json(*monitor)); }))}},
      {"/api/events", {Access::Token, locked([&](const HttpRequest& r) {
                         expect_only_params(r, {"limit"});
                         std::string text;
                         write_events_json(*monitor, uint_param(r, "limit", 1, NodeMonitor::kRecentEvents).value_or(0), text);
                         return in_pieces(std::move(text));
                       })}},
  };
  std::string token = create_api_token(opts.api_token_file);
  HttpServer server(HttpServerOptions{.listen = opts.api_listen, .api_token = token}, routes);
  // The scrape listener (pod network) serves the open routes only: no API, no paths.
  std::unique_ptr<HttpServer> metrics_server;
  if (!opts.metrics_listen.empty()) {
    std::map<std::string, HttpRoute> open_routes;
    for (const auto& [path, route] : routes)
      if (route.access == Access::Open) open_routes.emplace(path, route);
    metrics_server = std::make_unique<HttpServer>(HttpServerOptions{.listen = opts.metrics_listen}, open_routes);
  }
  install_stop_signals();
  log(fmt::format("daemon: serving http://{} (/metrics, /healthz, /readyz; and for root, with the token in {}: /api/leaks, "
                  "/api/watches, /api/users, /api/processes, /api/status, /api/events){}; attaching and seeding",
                  opts.api_listen, opts.api_token_file,
                  metrics_server ? fmt::format("; http://{} (/metrics, /healthz, /readyz only)", opts.metrics_listen) : ""));

  monitor_owner = std::make_unique<NodeMonitor>(opts.monitor, log);
  if (monitor_owner->session().backend() != Backend::Tracepoint)
    log(fmt::format("backend {} sees removals live; safety-net snapshots every {} s",
                    backend_name(monitor_owner->session().backend()), opts.hooked_reconcile_interval_s));
  {
    std::lock_guard lock(mu);
    monitor_owner->step(0);  // the events buffered while seeding, and the first leak evaluation
    monitor = monitor_owner.get();
    publish_metrics();
  }
  health.set_ready(fmt::format("ready: backend {}, {} watches in {} instances\n", backend_name(monitor->session().backend()),
                               monitor->session().table().watch_count(), monitor->session().table().instance_count()));
  log(fmt::format("daemon: ready: {} watches in {} instances; backend {}", monitor->session().table().watch_count(),
                  monitor->session().table().instance_count(), backend_name(monitor->session().backend())));

  uint64_t start = WallClock::monotonic_now_ns();
  std::set<std::tuple<uint64_t, int32_t>> reported;
  const int events_ready = monitor->session().tracer().wait_fd();
  uint64_t last_trim_ns = 0;
  uint64_t full_reconciles = 0;
  // The page is rendered again each second, and 0.1 s after the table or the leaks change.
  uint64_t published_ns = WallClock::monotonic_now_ns(), published_generation = monitor->session().table().generation();
  size_t published_leaks = monitor->leaks().leaks().size();
  release_freed_memory();  // the seeding snapshot's
  while (!stop_requested()) {
    uint64_t now_ns = WallClock::monotonic_now_ns();
    if (opts.duration_s > 0 && now_ns - start >= opts.duration_s * 1e9) break;
    if (memory_to_release && now_ns - last_trim_ns >= 1000000000ull) {
      memory_to_release = false;
      last_trim_ns = now_ns;
      malloc_trim(0);
    }
    // Wait for events without the lock, so that requests are answered meanwhile.
    pollfd p{events_ready, POLLIN, 0};
    ::poll(&p, 1, 50);
    std::lock_guard lock(mu);
    uint64_t evals = monitor->evaluations();
    monitor->step(0);
    health.stepped();
    uint64_t since_published = WallClock::monotonic_now_ns() - published_ns;
    bool changed = monitor->session().table().generation() != published_generation ||
                   monitor->leaks().leaks().size() != published_leaks;
    if (since_published >= 1000000000ull || (changed && since_published >= 100000000ull)) {
      publish_metrics();
      published_ns = WallClock::monotonic_now_ns();
      published_generation = monitor->session().table().generation();
      published_leaks = monitor->leaks().leaks().size();
    }
    if (monitor->session().full_reconciles() != full_reconciles) {
      full_reconciles = monitor->session().full_reconciles();
      release_freed_memory();
    }
    if (monitor->evaluations() != evals) {  // log leaks as they appear
      std::set<std::tuple<uint64_t, int32_t>> now;
      for (const auto& l : monitor->leaks().leaks()) {
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
  remove_api_token(opts.api_token_file, token);
  auto c = monitor->session().counters();
  log(fmt::format("daemon: stopping; {} watches, {} leaks, {} reconciles ({} corrections; {} digest checks found "
                  "nothing to reconcile), {} dropped",
                  monitor->session().table().watch_count(), monitor->leaks().leaks().size(), c.reconciles,
                  c.corrections.corrections(), c.digest_checks, c.tracer.ringbuf_drops));
  return 0;
}

}  // namespace inotrace
