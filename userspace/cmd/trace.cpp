#include "cmd/trace.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <tuple>

#include "util/stop_signal.h"
#include "events/names.h"
#include "output/event_json.h"
#include "output/event_text.h"
#include "output/line_writer.h"
#include "util/error.h"
#include "util/log.h"
#include "util/output_file.h"
#include "util/rate_limited_count.h"
#include "util/wall_clock.h"

namespace inotrace {

namespace {

struct Summary {
  std::map<EventType, uint64_t> by_type;
  uint64_t total = 0;
  uint64_t from_snapshot = 0;
  std::string line(const SessionCounters& sc, uint64_t not_written, std::string_view backend, double seconds) const {
    const TracerCounters& c = sc.tracer;
    std::vector<std::string> parts;
    for (const auto& [t, n] : by_type) parts.push_back(fmt::format("{} {}", event_type_name(t), n));
    uint64_t lost = c.ringbuf_drops + c.pending_full + c.decode_errors + not_written;
    return fmt::format(
        "{} events{}, {} of them found by reconciliation ({} snapshots); {} lost (ring buffer full {}, untracked "
        "syscalls {}, undecodable {}, {} not written); backend {}; {:.1f} s",
        total, parts.empty() ? "" : fmt::format(" ({})", fmt::join(parts, ", ")), from_snapshot, sc.reconciles,
        lost, c.ringbuf_drops, c.pending_full, c.decode_errors, not_written, backend, seconds);
  }
};

}  // namespace

int run_trace(const TraceCommandOptions& opts) {
  // Never through a symlink, never truncating a file that is not the caller's (issue 11, item 3).
  UniqueFd file;
  if (!opts.output_path.empty()) file = open_output_file(opts.output_path, OutputMode::Replace);
  std::string out_name = opts.output_path.empty() ? "stdout" : opts.output_path;
  LineWriter out(file ? file.get() : STDOUT_FILENO);
  auto log = [](const std::string& s) { log_line(s); };
  SessionOptions sopts = opts.session;
  sopts.tracer.log = log;
  TraceSession session(sopts, log);
  std::string backend(backend_name(session.tracer().backend()));

  install_stop_signals();
  WallClock clock;
  uint64_t start = WallClock::monotonic_now_ns();
  uint64_t deadline = opts.duration_s > 0 ? start + (uint64_t)(opts.duration_s * 1e9) : 0;
  log(fmt::format("tracing inotify watches (backend {}{}){}; Ctrl-C to stop", backend,
                  session.reconciling()
                      ? fmt::format(", removals without a hook found by {} snapshots every {} s",
                                    session.snapshot_source(),
                                    session.backend() == Backend::Tracepoint ? sopts.reconcile_interval_s
                                                                             : sopts.hooked_reconcile_interval_s)
                      : "",
                  opts.duration_s > 0 ? fmt::format(" for {} s", opts.duration_s) : ""));
  if (!opts.json) out.add(text_header()), out.flush();
  uint64_t header_not_written = out.lines_not_written();

  Summary summary;
  // A full filesystem may free up: keep tracing and count what is not written (reported at
  // most once a second). A closed pipe or descriptor does not: stop.
  RateLimitedCount unwritten;
  uint64_t seen_not_written = out.lines_not_written();
  auto flush = [&] {
    out.flush();  // (a large batch may also have been written, or not, by out.add)
    if (out.lines_not_written() > seen_not_written) unwritten.add(out.lines_not_written() - seen_not_written);
    seen_not_written = out.lines_not_written();
    if (auto r = unwritten.due(WallClock::monotonic_now_ns()))
      log(fmt::format("error: writing {}: {}; {} events not written{}", out_name, strerror(out.last_error()), r->count,
                      out.broken() ? ", stopping" : " (tracing goes on)"));
  };
  TraceSession::Callback on_event = [&](const Event& ev) {
    summary.by_type[ev.type]++;
    summary.total++;
    if (ev.from_snapshot) summary.from_snapshot++;
    out.add(opts.json ? event_to_json_line(ev, clock, backend) : event_to_text(ev, clock));
  };

  while (!stop_requested() && !out.broken()) {
    int timeout = 100;
    if (deadline) {
      uint64_t now = WallClock::monotonic_now_ns();
      if (now >= deadline) break;
      timeout = (int)std::min<uint64_t>(100, (deadline - now) / 1000000 + 1);
    }
    if (session.poll(timeout, on_event) > 0) flush();
  }
  session.drain(on_event);
  flush();

  double secs = (WallClock::monotonic_now_ns() - start) / 1e9;
  auto counters = session.counters();
  uint64_t not_written = out.lines_not_written() - header_not_written;
  log(summary.line(counters, not_written, backend, secs));
  if (counters.tracer.decode_errors)
    log(fmt::format("last undecodable record: {}", session.tracer().last_decode_error()));
  if (out.last_error()) {
    log(fmt::format("error: {} events not written to {}: {}", not_written, out_name, strerror(out.last_error())));
    return 1;
  }
  return 0;
}

}  // namespace inotrace
