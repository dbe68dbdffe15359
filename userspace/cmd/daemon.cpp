#include "cmd/daemon.h"

#include <absl/hash/hash.h>
#include <fmt/format.h>
#include <malloc.h>

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

constexpr uint64_t kSecondNs = 1000000000ull;

HttpResponse starting() { return HttpResponse{503, "text/plain", "starting: attaching BPF programs and seeding the table\n", {}}; }

template <class F>
auto no_params(F f) {
  return [f](const HttpRequest& r) {
    expect_only_params(r, {});
    return f(r);
  };
}

// The leaks the log has not shown yet, one line each; forgets the ones that ended.
class LeakLog {
 public:
  void show_new(const LeakDetector& leaks, const TraceSession::Log& log) {
    std::set<std::tuple<uint64_t, int32_t>> now;
    for (const auto& l : leaks.leaks()) {
      now.insert({l.instance.group, l.wd});
      if (reported_.count({l.instance.group, l.wd})) continue;
      std::string pins;
      for (const auto& p : l.pinned_by) pins += fmt::format(" [mnt:{} pid {} {}]", p.mnt_ns, p.pid, escape_for_text(p.mount_point));
      log(fmt::format("leak: {} pod {}: pid {} ({}) wd {} on {}:{} {}; pinned by{}", l.reason, l.pod_uid, l.pid,
                      escape_for_text(l.comm), l.wd, l.dev.str(), l.ino, escape_for_text(l.path),
                      pins.empty() ? " nothing mounted (lazily detached?)" : pins));
    }
    reported_ = std::move(now);
  }

 private:
  std::set<std::tuple<uint64_t, int32_t>> reported_;
};

// The daemon: servers that answer from the start, a monitor seeded once, a loop that steps it.
// The HTTP threads read documents the loop published; only the two streamed listings read the
// monitor, under `mu_`, one piece at a time with the loop; the probes never take it.
class Daemon {
 public:
  explicit Daemon(DaemonCommandOptions opts) : opts_(std::move(opts)) {
    opts_.monitor.session.tracer.log = log_;
    opts_.monitor.session.reconcile_all_backends = true;
    opts_.monitor.session.back_off_when_idle = true;
    opts_.monitor.session.hooked_reconcile_interval_s = opts_.hooked_reconcile_interval_s;
  }

  int run() {
    if (auto warning = listen_warning(opts_.api_listen)) log_(*warning);
    token_ = create_api_token(opts_.api_token_file);
    try {
      serve();
      install_stop_signals();
      seed();
      loop();
    } catch (...) {
      remove_api_token(opts_.api_token_file, token_);  // a start that fails leaves no token behind
      throw;
    }
    remove_api_token(opts_.api_token_file, token_);
    log_summary();
    return 0;
  }

 private:
  // /healthz says the process lives while the BPF programs attach and the first snapshot seeds
  // the table (seconds with a million watches); /readyz and the table's readers answer 503
  // until then.
  void serve() {
    auto routes = this->routes();
    api_server_ = std::make_unique<HttpServer>(HttpServerOptions{.listen = opts_.api_listen, .api_token = token_}, routes);
    // The scrape listener (pod network) serves the open routes only: no API, no paths.
    if (!opts_.metrics_listen.empty()) {
      std::map<std::string, HttpRoute> open_routes;
      for (const auto& [path, route] : routes)
        if (route.access == Access::Open) open_routes.emplace(path, route);
      metrics_server_ = std::make_unique<HttpServer>(HttpServerOptions{.listen = opts_.metrics_listen}, open_routes);
    }
    log_(fmt::format("daemon: serving http://{} (/metrics, /healthz, /readyz; and for root, with the token in {}: /api/leaks, "
                     "/api/watches, /api/pods, /api/users, /api/processes, /api/status, /api/events){}; attaching and seeding",
                     opts_.api_listen, opts_.api_token_file,
                     metrics_server_ ? fmt::format("; http://{} (/metrics, /healthz, /readyz only)", opts_.metrics_listen) : ""));
  }

  // What the loop last published: every document but the two that stream the live table and
  // event ring (/api/watches, /api/events), which take the lock one bounded piece at a time.
  struct Published {
    std::string metrics;
    // Rendered again only when what they show changed (shared with the previous publication).
    std::shared_ptr<const std::string> leaks, users, pods;
    std::shared_ptr<const nlohmann::ordered_json> processes;
    nlohmann::ordered_json status;
  };

  std::shared_ptr<const Published> published() {
    std::lock_guard lock(published_mu_);
    return published_;
  }

  template <class F>
  auto from_published(F f) {
    return [this, f](const HttpRequest& r) -> HttpResponse {
      std::shared_ptr<const Published> p = published();
      if (!p) return starting();
      return f(r, *p);
    };
  }

  template <class F>
  auto locked(F f) {
    return [this, f](const HttpRequest& r) -> HttpResponse {
      std::lock_guard lock(mu_);
      if (!monitor_) return starting();
      return f(r);
    };
  }

  std::map<std::string, HttpRoute> routes() {
    return {
        {"/healthz", {Access::Open, no_params([this](const HttpRequest&) { return health_.liveness(); })}},
        {"/readyz", {Access::Open, no_params([this](const HttpRequest&) { return health_.readiness(); })}},
        // A scrape or an API read never waits on the loop (a full snapshot of 100k watches holds
        // it for tens of ms): it gets the documents the loop last published.
        {"/metrics", {Access::Open, no_params(from_published([](const HttpRequest&, const Published& p) {
                        return HttpResponse{200, "text/plain; version=0.0.4", p.metrics, {}};
                      }))}},
        {"/api/leaks", {Access::Token, no_params(from_published([](const HttpRequest&, const Published& p) {
                          return HttpResponse{200, "application/json", *p.leaks, {}};
                        }))}},
        {"/api/watches", {Access::Token, locked([this](const HttpRequest& r) { return watches_page(r); })}},
        {"/api/pods", {Access::Token, no_params(from_published([](const HttpRequest&, const Published& p) {
                         return HttpResponse{200, "application/json", *p.pods, {}};
                       }))}},
        {"/api/users", {Access::Token, no_params(from_published([](const HttpRequest&, const Published& p) {
                          return HttpResponse{200, "application/json", *p.users, {}};
                        }))}},
        {"/api/processes", {Access::Token, from_published([](const HttpRequest& r, const Published& p) {
                              expect_only_params(r, {"limit"});
                              size_t limit = uint_param(r, "limit", 1, kMaxListLimit).value_or(0);
                              const auto& all = (*p.processes)["processes"];
                              if (!limit || limit >= all.size()) return json_response(*p.processes);
                              nlohmann::ordered_json out;
                              out["processes"] = nlohmann::ordered_json(all.begin(), all.begin() + (std::ptrdiff_t)limit);
                              return json_response(out);
                            })}},
        {"/api/status", {Access::Token, no_params(from_published([this](const HttpRequest&, const Published& p) {
                           nlohmann::ordered_json status = p.status;
                           status["uptime_s"] = (WallClock::monotonic_now_ns() - started_ns_) / 1e9;
                           return json_response(status);
                         }))}},
        {"/api/events", {Access::Token, locked([this](const HttpRequest& r) {
                           expect_only_params(r, {"limit"});
                           std::string text;
                           write_events_json(*monitor_, uint_param(r, "limit", 1, NodeMonitor::kRecentEvents).value_or(0), text);
                           return in_pieces(std::move(text));
                         })}},
    };
  }

  // A page of /api/watches, written piece by piece: the lock is taken per piece, never while
  // the server writes.
  HttpResponse watches_page(const HttpRequest& r) {
    expect_only_params(r, {"pid", "comm", "limit", "cursor"});
    WatchQuery q;
    if (auto pid = uint_param(r, "pid", 1, INT32_MAX)) q.pid = (uint32_t)*pid;
    if (r.query.count("comm")) q.comm = r.query.at("comm");
    q.limit = uint_param(r, "limit", 1, kMaxWatchPage).value_or(kDefaultWatchPage);
    if (r.query.count("cursor")) q.cursor = r.query.at("cursor");
    auto page = std::make_shared<WatchPageWriter>(q);
    return HttpResponse{200, "application/json", "", [this, page](std::string& out) {
                          std::unique_lock lock(mu_);
                          if (page->next(*monitor_, out)) return true;
                          lock.unlock();
                          release_freed_memory();
                          return false;
                        }};
  }

  void seed() {
    owner_ = std::make_unique<NodeMonitor>(opts_.monitor, log_);
    NodeMonitor& m = *owner_;
    if (m.session().backend() != Backend::Tracepoint)
      log_(fmt::format("backend {} sees removals live; safety-net snapshots every {} s", backend_name(m.session().backend()),
                       opts_.hooked_reconcile_interval_s));
    {
      std::lock_guard lock(mu_);
      m.step(0);  // the events buffered while seeding, and the first leak evaluation
      monitor_ = &m;
      started_ns_ = m.started_mono_ns();
      publish();
    }
    std::string counts = fmt::format("{} watches in {} instances", m.session().table().watch_count(), m.session().table().instance_count());
    health_.set_ready(fmt::format("ready: backend {}, {}\n", backend_name(m.session().backend()), counts));
    log_(fmt::format("daemon: ready: {}; backend {}", counts, backend_name(m.session().backend())));
    release_freed_memory();  // the seeding snapshot's
  }

  void loop() {
    const uint64_t start = WallClock::monotonic_now_ns();
    EventSource& events = monitor_->session().tracer();
    while (!stop_requested()) {
      uint64_t now = WallClock::monotonic_now_ns();
      if (opts_.duration_s > 0 && now - start >= opts_.duration_s * 1e9) break;
      release_memory_if_due(now);
      // Wait for events without the lock, so that requests are answered meanwhile.
      events.wait(50);
      std::lock_guard lock(mu_);
      uint64_t evaluations = monitor_->evaluations();
      monitor_->step(0);
      health_.stepped();
      publish_if_due();
      if (monitor_->session().full_reconciles() != full_reconciles_) {
        full_reconciles_ = monitor_->session().full_reconciles();
        release_freed_memory();
      }
      if (monitor_->evaluations() != evaluations) leak_log_.show_new(monitor_->leaks(), log_);
    }
  }

  void release_memory_if_due(uint64_t now) {
    if (!memory_to_release || now - last_trim_ns_ < kSecondNs) return;
    memory_to_release = false;
    last_trim_ns_ = now;
    malloc_trim(0);
  }

  // The documents are rendered again each second, and 0.1 s after the table or the leaks change.
  void publish_if_due() {
    uint64_t since = WallClock::monotonic_now_ns() - published_ns_;
    bool changed = monitor_->session().table().generation() != published_generation_ ||
                   monitor_->leaks().leaks().size() != published_leaks_;
    if (since >= kSecondNs || (changed && since >= kSecondNs / 10)) publish();
  }

  // What the table-derived documents depend on: the table, the kernel's counts of the last
  // snapshot, the leaks and stale watches. At rest it does not change, and they are not redone.
  uint64_t documents_input() const {
    const NodeMonitor& m = *monitor_;
    uint64_t h = absl::HashOf(m.session().table().generation(), m.session().last_snapshot_start_mono_ns(),
                              m.leaks().stale().size());
    for (const auto& l : m.leaks().leaks()) h = absl::HashOf(h, l.instance.group, l.wd, l.reason, l.pinned_by.size());
    return h;
  }

  static std::shared_ptr<const std::string> doc(const nlohmann::ordered_json& j) {
    return std::make_shared<const std::string>(j.dump() + "\n");
  }

  void publish() {
    auto p = std::make_shared<Published>();
    metrics_.update(*monitor_);
    p->metrics = metrics_.render();
    uint64_t input = documents_input();
    std::shared_ptr<const Published> before = published();
    if (before && input == documents_input_) {
      p->leaks = before->leaks, p->pods = before->pods, p->processes = before->processes;
    } else {
      p->leaks = doc(leaks_json(*monitor_));
      p->pods = doc(pods_json(*monitor_));
      p->processes = std::make_shared<const nlohmann::ordered_json>(processes_json(*monitor_, 0));
      documents_input_ = input;
    }
    // Per user, one row each (the metrics walked the same): redone every time, as its forecasts
    // and refused inits change at rest.
    p->users = doc(users_json(*monitor_));
    p->status = status_json(*monitor_);
    published_ns_ = WallClock::monotonic_now_ns();
    published_generation_ = monitor_->session().table().generation();
    published_leaks_ = monitor_->leaks().leaks().size();
    std::lock_guard lock(published_mu_);
    published_ = std::move(p);
  }

  void log_summary() {
    const NodeMonitor& m = *monitor_;
    auto c = m.session().counters();
    log_(fmt::format("daemon: stopping; {} watches, {} leaks, {} reconciles ({} corrections; {} digest checks found "
                     "nothing to reconcile), {} dropped",
                     m.session().table().watch_count(), m.leaks().leaks().size(), c.reconciles, c.corrections.corrections(),
                     c.digest_checks, c.tracer.ringbuf_drops));
  }

  DaemonCommandOptions opts_;
  TraceSession::Log log_ = [](const std::string& s) { log_line(s); };
  std::string token_;
  std::mutex mu_;
  std::unique_ptr<NodeMonitor> owner_;
  NodeMonitor* monitor_ = nullptr;  // set under mu_ once seeded
  DaemonHealth health_;
  MetricsExporter metrics_{10, opts_.metrics_top};
  std::mutex published_mu_;  // guards only published_
  std::shared_ptr<const Published> published_;
  uint64_t started_ns_ = 0;
  uint64_t published_ns_ = 0, published_generation_ = 0, documents_input_ = 0;
  size_t published_leaks_ = 0;
  uint64_t last_trim_ns_ = 0, full_reconciles_ = 0;
  LeakLog leak_log_;
  // Last: the servers stop (joining their threads) before what their handlers use goes away.
  std::unique_ptr<HttpServer> api_server_, metrics_server_;
};

}  // namespace

int run_daemon(DaemonCommandOptions opts) {
  // A long-lived process with bursts (full snapshots, large responses): fixed thresholds stop
  // glibc from raising them after each burst (up to 32 MiB mmap / 64 MiB trim) and keeping
  // that much freed memory for good; buffers above 256 KiB are mapped and unmapped directly.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
  mallopt(M_ARENA_MAX, 2);  // the HTTP threads would each keep an arena of freed memory
  return Daemon(std::move(opts)).run();
}

}  // namespace inotrace
