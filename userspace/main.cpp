// inotrace command line: CLI11 parsing only; every subcommand lives in cmd/.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <sys/stat.h>

#include <cstdio>

#include "cmd/daemon.h"
#include "cmd/repro.h"
#include "cmd/snapshot.h"
#include "cmd/top.h"
#include "cmd/trace.h"
#include "events/instance_id_key.h"
#include "loader/backend.h"
#include "util/error.h"
#include "util/log.h"

namespace {

using namespace inotrace;

std::optional<Backend> backend_option(const std::string& s) {
  if (s == "auto") return std::nullopt;
  return parse_backend(s);
}

// --cgroup takes a cgroup v2 id or a directory of the cgroup2 hierarchy (its inode number is
// the id bpf_get_current_cgroup_id() returns).
uint64_t cgroup_id_option(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("0123456789") == std::string::npos) return std::stoull(s);
  struct stat st;
  if (stat(s.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw Error(fmt::format("--cgroup {}: neither a numeric cgroup id nor a cgroup2 directory", s));
  return st.st_ino;
}

void add_filter_options(CLI::App* cmd, TraceFilters& f, std::string& cgroup) {
  cmd->add_option("--pid", f.pid, "Only this process (tgid)");
  cmd->add_option("--comm", f.comm, "Only processes with this exact command name (max 15 bytes)");
  cmd->add_option("--uid", f.uid, "Only processes running as this uid");
  cmd->add_option("--cgroup", cgroup, "Only processes in this cgroup v2 (id, or a path under /sys/fs/cgroup)");
}

}  // namespace

int main(int argc, char** argv) {
  init_process_io();
  CLI::App app{
      "inotrace: trace Linux inotify watches with eBPF.\n"
      "Finds who adds, keeps and leaks inotify watches (e.g. kubelet on dead pods' volumes)."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "inotrace 0.1.0");

  TraceCommandOptions trace;
  TracerOptions& topts = trace.session.tracer;
  std::string backend = "auto";
  std::string cgroup;
  std::string trace_snapshot_source = "auto";
  uint64_t ringbuf = topts.ringbuf_bytes;
  auto* tr = app.add_subcommand(
      "trace",
      "Live audit log of inotify activity: watch added / updated / add failed / removed (with the "
      "reason) and instances created, one line (or one JSON object with --json) per event.");
  tr->add_flag("--json", trace.json, "NDJSON output, one object per event (schema: docs/JSON.md)");
  tr->add_option("-o,--output", trace.output_path, "Write events to FILE (flushed as they arrive)");
  add_filter_options(tr, topts.filters, cgroup);
  tr->add_option("--duration", trace.duration_s, "Stop after SECONDS (default: until Ctrl-C / SIGTERM)")
      ->check(CLI::PositiveNumber);
  tr->add_option("--backend", backend, "auto (default), fentry, kprobe or tracepoint")
      ->check(CLI::IsMember({"auto", "fentry", "kprobe", "tracepoint"}));
  tr->add_option("--ringbuf-size", ringbuf, "Ring buffer bytes (power of two; default 8 MiB)");
  tr->add_option("--reconcile-interval", trace.session.reconcile_interval_s,
                 "Tracepoint backend: seconds between snapshots that find removals no hook saw "
                 "(rmdir, unlink, umount, close, exit, IN_ONESHOT); 0 disables (default 1)")
      ->check(CLI::NonNegativeNumber);
  tr->add_option("--snapshot-source", trace_snapshot_source, "Snapshots from: auto (default), iterator, procfs")
      ->check(CLI::IsMember({"auto", "iterator", "procfs"}));
  tr->add_option("--btf", topts.btf_path, "Kernel BTF file (default /sys/kernel/btf/vmlinux)");
  tr->add_flag("-v,--verbose", topts.verbose, "Print every probe's outcome and libbpf warnings");

  SnapshotCommandOptions snap;
  auto* sn = app.add_subcommand(
      "snapshot",
      "Every inotify watch on the machine now: who holds it, what it points at (path as the "
      "watcher sees it), whose max_user_watches it counts against. Per user, per process, per "
      "instance, or every watch (--view).");
  sn->add_option("--source", snap.source, "auto (default: BPF iterator, else /proc fdinfo), iterator, procfs")
      ->check(CLI::IsMember({"auto", "iterator", "procfs"}));
  sn->add_flag("--json", snap.json, "One JSON document (schema: docs/JSON.md)");
  sn->add_option("--pid", snap.pid, "Only instances held by this process");
  sn->add_option("--comm", snap.comm, "Only instances held by processes with this command name");
  sn->add_option("--top", snap.top, "Rows per table (default 20; 0 = all)");
  sn->add_flag("!--no-paths", snap.with_paths, "Do not resolve paths (faster)");
  sn->add_option("--view", snap.view, "summary (default), instances, watches")
      ->check(CLI::IsMember({"summary", "instances", "watches"}));
  sn->add_option("--btf", snap.btf_path, "Kernel BTF file (default /sys/kernel/btf/vmlinux)");
  sn->add_flag("-v,--verbose", snap.verbose, "Print libbpf warnings");

  // Options shared by the commands that run a live table (daemon, top).
  auto add_monitor_options = [](CLI::App* cmd, MonitorOptions& m, std::string& be, uint64_t& rb) {
    cmd->add_option("--pods-root", m.pods_root, "Kubelet's pods directory (default /var/lib/kubelet/pods)");
    cmd->add_option("--kubepods-cgroup", m.kubepods_cgroup,
                    "Kubepods cgroup directory for orphaned-pod checks (default: auto-detect; 'none' to skip)");
    cmd->add_option("--backend", be, "auto (default), fentry, kprobe or tracepoint")
        ->check(CLI::IsMember({"auto", "fentry", "kprobe", "tracepoint"}));
    cmd->add_option("--reconcile-interval", m.session.reconcile_interval_s,
                    "Tracepoint backend: seconds between reconciling snapshots (default 1)")
        ->check(CLI::PositiveNumber);
    cmd->add_option("--ringbuf-size", rb, "Ring buffer bytes (power of two; default 8 MiB)");
    cmd->add_option("--btf", m.session.tracer.btf_path, "Kernel BTF file (default /sys/kernel/btf/vmlinux)");
    cmd->add_flag("-v,--verbose", m.session.tracer.verbose, "Print every probe's outcome and libbpf warnings");
  };

  DaemonCommandOptions daemon;
  std::string daemon_backend = "auto";
  uint64_t daemon_ringbuf = daemon.monitor.session.tracer.ringbuf_bytes;
  auto* dm = app.add_subcommand(
      "daemon",
      "Keep a live table of every inotify watch on the node (snapshot + events, reconciled), flag "
      "watches whose pod is gone and what pins them, serve /metrics (Prometheus) and a JSON API "
      "(/api/leaks, /api/watches, /api/users, /api/processes, /api/status; docs/API.md).");
  dm->add_option("--api-listen,--listen", daemon.api_listen,
                 fmt::format("Address(es) for the JSON API (watched paths; root's token) and /metrics, /healthz, /readyz, "
                             "comma-separated (default {}; warns about any beyond loopback)",
                             kDefaultListen));
  dm->add_option("--metrics-listen", daemon.metrics_listen,
                 "Also serve /metrics, /healthz and /readyz, and nothing else, on these address(es): the scrape "
                 "target on a pod network, e.g. $(POD_IP):9717 (default: none)");
  dm->add_option("--api-token-file", daemon.api_token_file,
                 fmt::format("Where to write the JSON API's token, readable by root only (default {})", kDefaultApiTokenFile));
  dm->add_option("--hooked-reconcile-interval", daemon.hooked_reconcile_interval_s,
                 "fentry/kprobe: seconds between safety-net snapshots (default 30)")
      ->check(CLI::PositiveNumber);
  dm->add_option("--duration", daemon.duration_s, "Stop after SECONDS (default: until SIGINT/SIGTERM)")->check(CLI::PositiveNumber);
  add_monitor_options(dm, daemon.monitor, daemon_backend, daemon_ringbuf);

  TopCommandOptions top;
  std::string top_backend = "auto";
  uint64_t top_ringbuf = top.monitor.session.tracer.ringbuf_bytes;
  auto* tp = app.add_subcommand("top",
                                "Refreshing terminal view of the live watch table: processes by watches, leaks "
                                "highlighted, per-user usage against the limit. Its own BPF session, or a daemon's "
                                "(--connect).");
  tp->add_option("--connect", top.connect, fmt::format("Read a running daemon at ADDR:PORT (e.g. {})", kDefaultListen));
  tp->add_option("--api-token-file", top.api_token_file,
                 fmt::format("The daemon's API token (default {}; root only)", kDefaultApiTokenFile));
  tp->add_option("--interval", top.interval_s, "Seconds between refreshes (default 2)")->check(CLI::PositiveNumber);
  tp->add_option("--rows", top.rows, "Rows per table (default 15)");
  tp->add_flag("--once", top.once, "Print one frame and exit");
  tp->add_flag("!--no-color", top.color, "No ANSI colors");
  add_monitor_options(tp, top.monitor, top_backend, top_ringbuf);

  ReproCommandOptions repro;
  std::string repro_backend = "auto";
  auto* rp = app.add_subcommand(
      "repro",
      "Reproduce the kubelet watch leak: churn kubelet-like pods (projected tmpfs volumes mounted "
      "by a containerized mounter, bind-mounted to kubelet's path), let the mounter forget a "
      "fraction of them, delete every pod like kubelet, and report what leaked and what pins it "
      "(DIR/report.json, report.md, watches.svg/.png). Everything is created in a scratch root "
      "under --out and removed at the end, on Ctrl-C, or by the next run after a kill -9.");
  rp->add_option("--pods", repro.experiment.pods, "Number of pods (default 50)");
  rp->add_option("--pin", repro.experiment.pin_fraction, "Fraction of pods whose volume the mounter never unmounts (default 0.2)");
  rp->add_option("--rate", repro.experiment.rate, "Pods created per second (default 10)")->check(CLI::PositiveNumber);
  rp->add_option("--lifetime", repro.experiment.lifetime_s, "Seconds each pod lives (default 1)")->check(CLI::NonNegativeNumber);
  rp->add_option("--watcher", repro.experiment.watcher,
                 "Watcher command instead of the built-in one; {} is replaced by the pod's watched paths "
                 "(e.g. 'inotifywait -m {}')");
  rp->add_option("--out", repro.experiment.out_dir,
                 "Directory for the reports and the scratch root: new or empty (else --force), not /, owned by "
                 "root (or you) like every directory above it, none writable by others unless sticky (/tmp)")
      ->required();
  rp->add_flag("--json", repro.json, "Print report.json to stdout too");
  rp->add_flag("--force", repro.force,
               "Write into a non-empty --out (without it, --out must be new or empty): earlier reports of "
               "yours are replaced; a symlink or another user's file in their place is refused");
  rp->add_option("--backend", repro_backend, "auto (default), fentry, kprobe or tracepoint")
      ->check(CLI::IsMember({"auto", "fentry", "kprobe", "tracepoint"}));

  CLI11_PARSE(app, argc, argv);

  try {
    bool verbose = (tr->parsed() && topts.verbose) || (sn->parsed() && snap.verbose) ||
                   (dm->parsed() && daemon.monitor.session.tracer.verbose) ||
                   (tp->parsed() && top.monitor.session.tracer.verbose);
    if (verbose) log_line(fmt::format("instance ids: keyed hash of the kernel's pointer; key {}", instance_id_key().origin));
    if (tr->parsed()) {
      topts.backend = backend_option(backend);
      topts.ringbuf_bytes = checked_ringbuf_size(ringbuf);
      if (!cgroup.empty()) topts.filters.cgroup_id = cgroup_id_option(cgroup);
      trace.session.snapshot_source = *parse_snapshot_source(trace_snapshot_source);
      return run_trace(trace);
    }
    if (sn->parsed()) return run_snapshot(snap);
    if (dm->parsed()) {
      daemon.monitor.session.tracer.backend = backend_option(daemon_backend);
      daemon.monitor.session.tracer.ringbuf_bytes = checked_ringbuf_size(daemon_ringbuf);
      return run_daemon(daemon);
    }
    if (rp->parsed()) {
      repro.experiment.session.tracer.backend = backend_option(repro_backend);
      return run_repro(repro);
    }
    if (tp->parsed()) {
      top.monitor.session.tracer.backend = backend_option(top_backend);
      top.monitor.session.tracer.ringbuf_bytes = checked_ringbuf_size(top_ringbuf);
      return run_top(top);
    }
  } catch (const Error& e) {
    log_line(fmt::format("error: {}", e.what()));
    return 1;
  } catch (const std::exception& e) {
    log_line(fmt::format("internal error: {}", e.what()));
    return 70;
  }
  return 0;
}
