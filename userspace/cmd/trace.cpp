#include "cmd/trace.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <tuple>

#include "util/standard_output.h"
#include "util/startup_heap.h"
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

// "1 event not written", "2 events not written".
std::string events_not_written(uint64_t n) { return fmt::format("{} event{} not written", n, n == 1 ? "" : "s"); }

// "tracing inotify watches (backend B, removals ... every N s) for D s; Ctrl-C to stop"
std::string start_line(const TraceSession& session, const SessionOptions& sopts, double duration_s, const std::string& backend) {
  std::string reconciling;
  if (session.reconciling())
    reconciling = fmt::format(
        ", removals without a hook found by {} snapshots every {} s", session.snapshot_source(),
        session.backend() == Backend::Tracepoint ? sopts.reconcile_interval_s : sopts.hooked_reconcile_interval_s);
  return fmt::format("tracing inotify watches (backend {}{}){}; Ctrl-C to stop", backend, reconciling,
                     duration_s > 0 ? fmt::format(" for {} s", duration_s) : "");
}

// Where the events go, and what could not be written there. A full filesystem may free up:
// tracing goes on and what is not written is counted (reported at most once a second). A closed
// pipe or descriptor does not: the writer turns broken and tracing stops.
class EventOutput {
 public:
  EventOutput(const TraceCommandOptions& opts, UniqueFd file, std::string backend)
      : opts_(opts), file_(std::move(file)), out_(file_ ? file_.get() : STDOUT_FILENO), backend_(std::move(backend)),
        name_(opts.output_path.empty() ? "stdout" : opts.output_path) {
    if (!opts_.json) {
      out_.add(text_header());
      // a closed pipe stops the trace before its first event: say so now
      if (!out_.flush()) say_write_error("the header line is not written");
    }
    header_not_written_ = seen_not_written_ = out_.lines_not_written();
  }

  void add(const Event& ev) {
    summary_.by_type[ev.type]++;
    summary_.total++;
    if (ev.from_snapshot) summary_.from_snapshot++;
    if (opts_.json) out_.add_by([&](std::string& batch) { append_event_json_line(batch, ev, clock_, backend_); });
    else out_.add_by([&](std::string& batch) { append_event_text(batch, ev, clock_); });
  }

  void flush() {
    out_.flush();  // (a large batch may also have been written, or not, by out_.add)
    if (out_.lines_not_written() > seen_not_written_) unwritten_.add(out_.lines_not_written() - seen_not_written_);
    seen_not_written_ = out_.lines_not_written();
    if (auto r = unwritten_.due(WallClock::monotonic_now_ns())) say_write_error(events_not_written(r->count));
  }

  bool broken() const { return out_.broken(); }

  // The summary line, and whether every event was written.
  bool report(TraceSession& session, double seconds) const {
    auto counters = session.counters();
    uint64_t not_written = out_.lines_not_written() - header_not_written_;
    log_line(summary_.line(counters, not_written, backend_, seconds));
    if (counters.tracer.decode_errors) log_line(fmt::format("last undecodable record: {}", session.tracer().last_decode_error()));
    if (!out_.last_error()) return true;
    if (not_written)  // (only the header lost: said when it was)
      log_line(fmt::format("error: {} to {}: {}", events_not_written(not_written), name_, write_error_text(out_.last_error())));
    return false;
  }

 private:
  // "error: writing OUT: WHY; WHAT, stopping" (or "(tracing goes on)" while the writer is not broken).
  void say_write_error(std::string_view what) const {
    log_line(fmt::format("error: writing {}: {}; {}{}", name_, write_error_text(out_.last_error()), what,
                         out_.broken() ? ", stopping" : " (tracing goes on)"));
  }

  const TraceCommandOptions& opts_;
  UniqueFd file_;
  LineWriter out_;
  std::string backend_;
  std::string name_;
  WallClock clock_;
  Summary summary_;
  RateLimitedCount unwritten_;
  uint64_t header_not_written_ = 0, seen_not_written_ = 0;
};

}  // namespace

int run_trace(const TraceCommandOptions& opts) {
  // Never through a symlink, never truncating a file that is not the caller's.
  UniqueFd file;
  if (!opts.output_path.empty()) file = open_output_file(opts.output_path, OutputMode::Replace);
  auto log = [](const std::string& s) { log_line(s); };
  SessionOptions sopts = opts.session;
  sopts.tracer.log = log;
  TraceSession session(sopts, log);
  std::string backend(backend_name(session.tracer().backend()));

  install_stop_signals();
  uint64_t start = WallClock::monotonic_now_ns();
  uint64_t deadline = opts.duration_s > 0 ? start + (uint64_t)(opts.duration_s * 1e9) : 0;
  log(start_line(session, sopts, opts.duration_s, backend));
  end_startup_heap();
  EventOutput out(opts, std::move(file), backend);
  TraceSession::Callback on_event = [&](const Event& ev) {
    if (opts.workload.matches(ev.workload.get())) out.add(ev);
  };
  while (!stop_requested() && !out.broken()) {
    int timeout = 100;
    if (deadline) {
      uint64_t now = WallClock::monotonic_now_ns();
      if (now >= deadline) break;
      timeout = (int)std::min<uint64_t>(100, (deadline - now) / 1000000 + 1);
    }
    if (session.poll(timeout, on_event) > 0) out.flush();
  }
  session.drain(on_event);
  out.flush();
  return out.report(session, (WallClock::monotonic_now_ns() - start) / 1e9) ? 0 : 1;
}

}  // namespace inotrace
