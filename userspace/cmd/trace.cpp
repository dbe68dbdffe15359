#include "cmd/trace.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <tuple>

#include "cmd/stop_signal.h"
#include "events/names.h"
#include "output/event_json.h"
#include "output/event_text.h"
#include "util/error.h"
#include "util/wall_clock.h"

namespace inotrace {

namespace {

struct Summary {
  std::map<EventType, uint64_t> by_type;
  uint64_t total = 0;
  uint64_t from_snapshot = 0;
  std::string line(const SessionCounters& sc, std::string_view backend, double seconds) const {
    const TracerCounters& c = sc.tracer;
    std::vector<std::string> parts;
    for (const auto& [t, n] : by_type) parts.push_back(fmt::format("{} {}", event_type_name(t), n));
    uint64_t lost = c.ringbuf_drops + c.pending_full + c.decode_errors;
    return fmt::format(
        "inotrace: {} events{}, {} of them found by reconciliation ({} snapshots); {} lost (ring buffer "
        "full {}, untracked syscalls {}, undecodable {}); backend {}; {:.1f} s",
        total, parts.empty() ? "" : fmt::format(" ({})", fmt::join(parts, ", ")), from_snapshot, sc.reconciles,
        lost, c.ringbuf_drops, c.pending_full, c.decode_errors, backend, seconds);
  }
};

}  // namespace

int run_trace(const TraceCommandOptions& opts) {
  FILE* out = stdout;
  if (!opts.output_path.empty()) {
    out = fopen(opts.output_path.c_str(), "w");
    if (!out) throw Error(fmt::format("cannot open {} for writing: {}", opts.output_path, strerror(errno)));
  }
  auto log = [](const std::string& s) { fmt::print(stderr, "inotrace: {}\n", s); };
  SessionOptions sopts = opts.session;
  sopts.tracer.log = log;
  TraceSession session(sopts, log);
  std::string backend(backend_name(session.tracer().backend()));

  install_stop_signals();
  WallClock clock;
  uint64_t start = WallClock::monotonic_now_ns();
  uint64_t deadline = opts.duration_s > 0 ? start + (uint64_t)(opts.duration_s * 1e9) : 0;
  fmt::print(stderr, "inotrace: tracing inotify watches (backend {}{}){}; Ctrl-C to stop\n", backend,
             session.reconciling()
                 ? fmt::format(", removals without a hook found by {} snapshots every {} s", session.snapshot_source(),
                               session.backend() == Backend::Tracepoint ? sopts.reconcile_interval_s
                                                                        : sopts.hooked_reconcile_interval_s)
                 : "",
             opts.duration_s > 0 ? fmt::format(" for {} s", opts.duration_s) : "");
  if (!opts.json) fmt::print(out, "{}\n", text_header());

  Summary summary;
  bool write_failed = false;
  TraceSession::Callback on_event = [&](const Event& ev) {
    summary.by_type[ev.type]++;
    summary.total++;
    if (ev.from_snapshot) summary.from_snapshot++;
    std::string line = opts.json ? event_to_json_line(ev, clock, backend) : event_to_text(ev, clock);
    line += '\n';
    if (fwrite(line.data(), 1, line.size(), out) != line.size()) write_failed = true;
  };

  while (!stop_requested() && !write_failed) {
    int timeout = 100;
    if (deadline) {
      uint64_t now = WallClock::monotonic_now_ns();
      if (now >= deadline) break;
      timeout = (int)std::min<uint64_t>(100, (deadline - now) / 1000000 + 1);
    }
    if (session.poll(timeout, on_event) > 0 && fflush(out) != 0) write_failed = true;
  }
  session.drain(on_event);
  fflush(out);
  if (out != stdout) fclose(out);

  double secs = (WallClock::monotonic_now_ns() - start) / 1e9;
  auto counters = session.counters();
  fmt::print(stderr, "{}\n", summary.line(counters, backend, secs));
  if (counters.tracer.decode_errors)
    fmt::print(stderr, "inotrace: last undecodable record: {}\n", session.tracer().last_decode_error());
  if (write_failed) {
    fmt::print(stderr, "inotrace: error: writing the output failed: {}\n", strerror(errno));
    return 1;
  }
  return 0;
}

}  // namespace inotrace
