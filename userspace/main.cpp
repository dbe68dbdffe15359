// inotrace command line: CLI11 parsing only; every subcommand lives in cmd/.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <iterator>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "cmd/check.h"
#include "cmd/daemon.h"
#include "cmd/repro.h"
#include "cmd/snapshot.h"
#include "cmd/top.h"
#include "cmd/trace.h"
#include "events/instance_id_key.h"
#include "loader/backend.h"
#include "util/error.h"
#include "util/log.h"
#include "util/standard_output.h"
#include "util/startup_heap.h"

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

// The options of every command that loads the tracing programs, declared once.
struct KernelChoices {
  std::string backend = "auto";
  uint64_t ringbuf = 0;
  // Into the tracer's options, once parsed.
  void apply(TracerOptions& t) const {
    t.backend = backend_option(backend);
    t.ringbuf_bytes = checked_ringbuf_size(ringbuf);
  }
};

void add_backend_option(CLI::App* cmd, std::string& backend) {
  std::vector<std::string> choices{"auto"};
  for (Backend b : {Backend::Fentry, Backend::Kprobe, Backend::Tracepoint}) choices.emplace_back(backend_name(b));
  cmd->add_option("--backend", backend, "auto (default), fentry, kprobe or tracepoint")->check(CLI::IsMember(choices));
}

void add_workload_options(CLI::App* cmd, WorkloadFilter& f) {
  cmd->add_option("--pod", f.pod, "Only processes of this Kubernetes pod: NAMESPACE/NAME or its uid");
  cmd->add_option("--namespace", f.namespace_, "Only processes of pods in this Kubernetes namespace");
  cmd->add_option("--container", f.container, "Only processes of this container: its name, id, or id prefix (12+)");
}

// Where the container runtimes keep their state, which names pods and containers.
void add_runtime_state_options(CLI::App* cmd, RuntimeStateDirs& dirs) {
  cmd->add_option_function<std::string>(
      "--containerd-state",
      [&dirs](const std::string& d) { dirs.containerd_tasks = d + "/" + RuntimeStateDirs::kContainerdTasks; },
      "containerd's state directory, whose task bundles name pods and containers (default /run/containerd; "
      "k3s: /run/k3s/containerd)");
  cmd->add_option("--crio-containers", dirs.crio_containers,
                  "CRI-O's container storage (default /run/containers/storage/overlay-containers)");
  cmd->add_option("--pod-logs", dirs.pod_logs, "kubelet's pod log directory, the names' fallback (default /var/log/pods)");
}

void add_btf_option(CLI::App* cmd, std::string& btf) {
  cmd->add_option("--btf", btf, "Kernel BTF file (default /sys/kernel/btf/vmlinux)");
}

void add_kernel_options(CLI::App* cmd, TracerOptions& t, KernelChoices& k) {
  k.ringbuf = t.ringbuf_bytes;
  add_backend_option(cmd, k.backend);
  cmd->add_option("--ringbuf-size", k.ringbuf, "Ring buffer bytes (power of two; default 8 MiB)");
  add_btf_option(cmd, t.btf_path);
  cmd->add_flag("-v,--verbose", t.verbose, "Print every probe's outcome and libbpf warnings");
}

void add_stacks_option(CLI::App* cmd, bool& on) {
  cmd->add_flag("--stacks", on,
                "Keep the user stack that created each watch (frame-pointer walk, up to 64 frames; "
                "symbolised from the binary's symbol table or Go's pclntab, with build id and file offset "
                "for offline use). Off by default: it costs a stack walk per add");
}

// A subcommand: its options are bound to state it owns; run() is called if it was chosen.
struct Command {
  CLI::App* app = nullptr;
  std::function<bool()> verbose;
  std::function<int()> run;
  // Its user waits for its start-up: it runs in the start-up heap (util/startup_heap.h). Not
  // the long-lived commands (daemon, top, repro), whose RSS is what they hold for hours.
  bool quick_start = false;
  // Its exit code when stdout could not take its output (check: 2, unknown, whatever it saw).
  int unwritten_output_rc = 1;
};

Command add_trace(CLI::App& app) {
  struct State {
    TraceCommandOptions trace;
    KernelChoices kernel;
    std::string cgroup, snapshot_source = "auto";
  };
  auto st = std::make_shared<State>();
  TracerOptions& t = st->trace.session.tracer;
  auto* tr = app.add_subcommand(
      "trace",
      "Live audit log of inotify activity: watch added / updated / add failed / removed (with the "
      "reason) and instances created, one line (or one JSON object with --json) per event.");
  tr->add_flag("--json", st->trace.json, "NDJSON output, one object per event (schema: docs/JSON.md)");
  tr->add_option("-o,--output", st->trace.output_path, "Write events to FILE (flushed as they arrive)");
  add_filter_options(tr, t.filters, st->cgroup);
  add_workload_options(tr, st->trace.workload);
  add_runtime_state_options(tr, st->trace.session.runtime);
  tr->add_option("--duration", st->trace.duration_s, "Stop after SECONDS (default: until Ctrl-C / SIGTERM)")
      ->check(CLI::PositiveNumber);
  tr->add_option("--reconcile-interval", st->trace.session.reconcile_interval_s,
                 "Tracepoint backend: seconds between snapshots that find removals no hook saw "
                 "(rmdir, unlink, umount, close, exit, IN_ONESHOT); 0 disables (default 1)")
      ->check(CLI::NonNegativeNumber);
  tr->add_option("--snapshot-source", st->snapshot_source, "Snapshots from: auto (default), iterator, procfs")
      ->check(CLI::IsMember({"auto", "iterator", "procfs"}));
  add_kernel_options(tr, t, st->kernel);
  add_stacks_option(tr, t.capture_stacks);
  return {tr, [st] { return st->trace.session.tracer.verbose; }, [st] {
            TracerOptions& t = st->trace.session.tracer;
            st->kernel.apply(t);
            if (!st->cgroup.empty()) t.filters.cgroup_id = cgroup_id_option(st->cgroup);
            st->trace.session.snapshot_source = *parse_snapshot_source(st->snapshot_source);
            return run_trace(st->trace);  // leaves the start-up heap once tracing
          }, true};
}

Command add_snapshot(CLI::App& app) {
  auto snap = std::make_shared<SnapshotCommandOptions>();
  auto* sn = app.add_subcommand(
      "snapshot",
      "Every inotify watch on the machine now: who holds it, what it points at (path as the "
      "watcher sees it), whose max_user_watches it counts against. Per user, per process, per "
      "instance, or every watch (--view).");
  sn->add_option("--source", snap->source, "auto (default: BPF iterator, else /proc fdinfo), iterator, procfs")
      ->check(CLI::IsMember({"auto", "iterator", "procfs"}));
  sn->add_flag("--json", snap->json, "One JSON document (schema: docs/JSON.md)");
  sn->add_option("--pid", snap->pid, "Only instances held by this process");
  sn->add_option("--comm", snap->comm, "Only instances held by processes with this command name");
  add_workload_options(sn, snap->workload);
  add_runtime_state_options(sn, snap->runtime);
  sn->add_option("--top", snap->top, "Rows per table (default 20; 0 = all)");
  sn->add_flag("!--no-paths", snap->with_paths, "Do not resolve paths (faster)");
  sn->add_option("--view", snap->view,
                 "summary (default), instances, watches, or pods (watches and instances per Kubernetes pod, from the "
                 "holders' cgroups and the container runtime's state)")
      ->check(CLI::IsMember({"summary", "instances", "watches", "pods"}));
  sn->add_option("--sort", snap->sort,
                 "Order of the processes (text and --json): watches (default: most watches first) or instances "
                 "(most inotify instances first: who uses up max_user_instances)")
      ->check(CLI::IsMember({"watches", "instances"}));
  add_btf_option(sn, snap->btf_path);
  sn->add_flag("-v,--verbose", snap->verbose, "Print libbpf warnings");
  return {sn, [snap] { return snap->verbose; }, [snap] { return run_snapshot(*snap); }, true};
}

Command add_check(CLI::App& app) {
  auto st = std::make_shared<CheckCommandOptions>();
  CheckThresholds& t = st->thresholds;
  auto* ck = app.add_subcommand(
      "check",
      "One look at the node for node-problem-detector (custom plugin; deploy/node-problem-detector/): "
      "exit 0 ok, 1 problem, 2 unknown (could not look, e.g. no privileges), and one line on stdout naming "
      "the problem, its top holder (pod and container, or host process) and, for leaks, the pinning mount "
      "and what unmounting it or restarting the holder frees. Problems, most severe first: watches leaked "
      "into dead pods, a user near max_user_watches, a user near max_user_instances.");
  ck->add_option("--watches-warn", t.watches_pct,
                 "A user whose watches reach PCT% of max_user_watches is a problem (default 80; the kernel's own "
                 "count where the BPF iterator gives it)")
      ->check(CLI::Range(0.0, 100.0));
  ck->add_option("--instances-warn", t.instances_pct,
                 "A user whose instances reach PCT% of max_user_instances is a problem (default 80)")
      ->check(CLI::Range(0.0, 100.0));
  ck->add_option("--leaks-max", t.leaks_max, "More leaked watches than N is a problem (default 0)");
  ck->add_option("--pods-root", st->pods_root, "Kubelet's pods directory (default /var/lib/kubelet/pods)");
  ck->add_option("--kubepods-cgroup", st->kubepods_cgroup,
                 "Kubepods cgroup directory for orphaned-pod checks (default: auto-detect; 'none' to skip)");
  ck->add_option("--source", st->source, "Snapshot from: auto (default: BPF iterator, else /proc fdinfo), iterator, procfs")
      ->check(CLI::IsMember({"auto", "iterator", "procfs"}));
  add_runtime_state_options(ck, st->runtime);
  ck->add_flag("--json", st->json, "One JSON object instead of the line: status, exit_code, message, problems, totals");
  add_btf_option(ck, st->btf_path);
  ck->add_flag("-v,--verbose", st->verbose, "Say on stderr which snapshot source was used and what it skipped");
  return {ck, [st] { return st->verbose; }, [st] { return run_check(*st); }, true, /*unwritten_output_rc=*/2};
}

// Options of the commands that run a live table (daemon, top).
void add_monitor_options(CLI::App* cmd, MonitorOptions& m, KernelChoices& k) {
  cmd->add_option("--pods-root", m.pods_root, "Kubelet's pods directory (default /var/lib/kubelet/pods)");
  cmd->add_option("--kubepods-cgroup", m.kubepods_cgroup,
                  "Kubepods cgroup directory for orphaned-pod checks (default: auto-detect; 'none' to skip)");
  cmd->add_option("--reconcile-interval", m.session.reconcile_interval_s,
                  "Tracepoint backend: seconds between reconciling snapshots (default 1)")
      ->check(CLI::PositiveNumber);
  add_runtime_state_options(cmd, m.session.runtime);
  add_kernel_options(cmd, m.session.tracer, k);
}

Command add_daemon(CLI::App& app) {
  struct State {
    DaemonCommandOptions daemon;
    KernelChoices kernel;
  };
  auto st = std::make_shared<State>();
  DaemonCommandOptions& d = st->daemon;
  auto* dm = app.add_subcommand(
      "daemon",
      "Keep a live table of every inotify watch on the node (snapshot + events, reconciled), flag "
      "watches whose pod is gone and what pins them, serve /metrics (Prometheus) and a JSON API "
      "(/api/leaks, /api/watches, /api/pods, /api/users, /api/processes, /api/status; docs/API.md).");
  dm->add_option("--api-listen,--listen", d.api_listen,
                 fmt::format("Address(es) for the JSON API (watched paths; root's token) and /metrics, /healthz, /readyz, "
                             "comma-separated (default {}; warns about any beyond loopback)",
                             kDefaultListen));
  dm->add_option("--metrics-top", d.metrics_top,
                 "Pods with their own inotrace_pod_watches / inotrace_pod_instances series (by watches; the rest are "
                 "summed under pod=\"other\"), bounding the series to N+1 (default 20)")
      ->check(CLI::Range(1, 10000));
  dm->add_option("--metrics-listen", d.metrics_listen,
                 "Also serve /metrics, /healthz and /readyz, and nothing else, on these address(es): the scrape "
                 "target on a pod network, e.g. $(POD_IP):9717 (default: none)");
  dm->add_option("--api-token-file", d.api_token_file,
                 fmt::format("Where to write the JSON API's token, readable by root only (default {})", kDefaultApiTokenFile));
  dm->add_option("--hooked-reconcile-interval", d.hooked_reconcile_interval_s,
                 "fentry/kprobe: seconds between safety-net snapshots (default 30)")
      ->check(CLI::PositiveNumber);
  dm->add_option("--forecast-window", d.monitor.forecast_window_s,
                 "Time constant in SECONDS of the per-user growth rates behind the exhaustion forecasts (an "
                 "exponentially weighted average: growth SECONDS ago weighs 1/e of growth now; default 600). A "
                 "forecast needs min(30, SECONDS/2) s of history")
      ->check(CLI::Range(1.0, 86400.0 * 7));
  dm->add_option("--duration", d.duration_s, "Stop after SECONDS (default: until SIGINT/SIGTERM)")->check(CLI::PositiveNumber);
  add_monitor_options(dm, d.monitor, st->kernel);
  add_stacks_option(dm, d.monitor.session.tracer.capture_stacks);
  return {dm, [st] { return st->daemon.monitor.session.tracer.verbose; }, [st] {
            st->kernel.apply(st->daemon.monitor.session.tracer);
            return run_daemon(st->daemon);
          }};
}

Command add_top(CLI::App& app) {
  struct State {
    TopCommandOptions top;
    KernelChoices kernel;
  };
  auto st = std::make_shared<State>();
  TopCommandOptions& top = st->top;
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
  add_monitor_options(tp, top.monitor, st->kernel);
  return {tp, [st] { return st->top.monitor.session.tracer.verbose; }, [st] {
            st->kernel.apply(st->top.monitor.session.tracer);
            return run_top(st->top);
          }};
}

Command add_repro(CLI::App& app) {
  struct State {
    ReproCommandOptions repro;
    std::string backend = "auto";
  };
  auto st = std::make_shared<State>();
  repro::ReproOptions& e = st->repro.experiment;
  auto* rp = app.add_subcommand(
      "repro",
      "Reproduce the kubelet watch leak: churn kubelet-like pods (projected tmpfs volumes mounted "
      "by a containerized mounter, bind-mounted to kubelet's path), let the mounter forget a "
      "fraction of them, delete every pod like kubelet, and report what leaked and what pins it "
      "(DIR/report.json, report.md, watches.svg/.png). Everything is created in a scratch root "
      "under --out and removed at the end, on Ctrl-C, or by the next run after a kill -9.");
  rp->add_option("--pods", e.pods, "Number of pods (default 50)");
  rp->add_option("--pin", e.pin_fraction, "Fraction of pods whose volume the mounter never unmounts (default 0.2)");
  rp->add_option("--rate", e.rate, "Pods created per second (default 10)")->check(CLI::PositiveNumber);
  rp->add_option("--lifetime", e.lifetime_s, "Seconds each pod lives (default 1)")->check(CLI::NonNegativeNumber);
  rp->add_option("--watcher", e.watcher,
                 "Watcher command instead of the built-in one; {} is replaced by the pod's watched paths "
                 "(e.g. 'inotifywait -m {}')");
  rp->add_option("--out", e.out_dir,
                 "Directory for the reports and the scratch root: new or empty (else --force), not /, owned by "
                 "root (or you) like every directory above it, none writable by others unless sticky (/tmp)")
      ->required();
  rp->add_flag("--json", st->repro.json, "Print report.json to stdout too");
  rp->add_flag("--force", st->repro.force,
               "Write into a non-empty --out (without it, --out must be new or empty): earlier reports of "
               "yours are replaced; a symlink or another user's file in their place is refused");
  add_backend_option(rp, st->backend);
  add_stacks_option(rp, e.session.tracer.capture_stacks);
  return {rp, [] { return false; }, [st] {
            st->repro.experiment.session.tracer.backend = backend_option(st->backend);
            return run_repro(st->repro);
          }};
}

}  // namespace

int main(int argc, char** argv) {
  init_process_io();
  CLI::App app{
      "inotrace: trace Linux inotify watches with eBPF.\n"
      "Finds who adds, keeps and leaks inotify watches (e.g. kubelet on dead pods' volumes)."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "inotrace 0.1.0");
  // When the first argument names a subcommand, only that one is built: building all six
  // (~150 options with their validators) was ~2 ms of every command's start-up. Anything else
  // (--help, --version, a typo) builds them all, for the listing and the error.
  static constexpr std::pair<std::string_view, Command (*)(CLI::App&)> kCommands[] = {
      {"trace", add_trace}, {"snapshot", add_snapshot}, {"check", add_check},
      {"daemon", add_daemon}, {"top", add_top},          {"repro", add_repro}};
  std::string_view first = argc > 1 ? argv[1] : "";
  bool named = std::any_of(std::begin(kCommands), std::end(kCommands), [&](const auto& c) { return c.first == first; });
  std::vector<Command> commands;
  for (const auto& [name, add] : kCommands)
    if (!named || name == first) commands.push_back(add(app));
  CLI11_PARSE(app, argc, argv);

  try {
    for (const Command& c : commands) {
      if (!c.app->parsed()) continue;
      if (c.quick_start) begin_startup_heap();
      if (c.verbose()) log_line(fmt::format("instance ids: keyed hash of the kernel's pointer; key {}", instance_id_key().origin));
      try {
        int rc = c.run();
        flush_out();  // what stdio still holds: a failure at exit would go unnoticed
        return rc;
      } catch (const OutputError& e) {
        log_line(fmt::format("error: {}", e.what()));
        return c.unwritten_output_rc;
      }
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
