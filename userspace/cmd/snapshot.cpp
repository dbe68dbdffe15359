#include "cmd/snapshot.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "cmd/snapshot_json.h"
#include "events/names.h"
#include "util/small_file.h"
#include "snapshot/aggregate.h"
#include "snapshot/pod_rollup.h"
#include "snapshot/snapshot_taker.h"
#include "util/error.h"
#include "util/log.h"
#include "util/standard_output.h"
#include "util/text_encoding.h"
#include "util/wall_clock.h"

namespace inotrace {

namespace {

void apply_filters(Snapshot& snap, const SnapshotCommandOptions& o) {
  if (!o.pid && !o.comm && !o.workload.active()) return;
  std::erase_if(snap.instances, [&](const SnapInstance& inst) {
    return std::none_of(inst.holders.begin(), inst.holders.end(), [&](const Holder& h) {
      return (!o.pid || h.pid == *o.pid) && (!o.comm || h.comm == *o.comm) && o.workload.matches(h.workload.get());
    });
  });
}

std::string limit_str(int64_t v) { return v >= 0 ? std::to_string(v) : "-"; }

std::vector<ProcessRow> sorted_processes(const Snapshot& snap, const SnapshotCommandOptions& o) {
  auto procs = per_process(snap);
  if (o.sort == "instances") sort_processes_by_instances(procs);
  return procs;
}

void write_json(const Snapshot& snap, const SnapshotCommandOptions& o, double ms, int64_t max_inst, uint32_t init_ns) {
  SnapshotJsonParts parts{WallClock().rfc3339(snap.taken_mono_ns), ms, per_user(snap, max_inst, init_ns),
                          sorted_processes(snap, o), per_pod(snap).pods()};
  if (o.top && parts.processes.size() > o.top) parts.processes.resize(o.top);
  fflush(stdout);  // nothing is buffered there now, but the document goes around stdio
  DocumentWriter out(STDOUT_FILENO, "the snapshot to standard output");
  write_snapshot_json(snap, parts, out);
}

void print_pods(const Snapshot& snap, const SnapshotCommandOptions& o) {
  PodRollup r = per_pod(snap);
  auto pods = r.pods();
  print_out("\nPODS (by watches; from the holders' cgroups, names from the container runtime's state)\n");
  print_out("{:<40} {:<36} {:<10} {:>6} {:>10} {:>8}  {}\n", "NAMESPACE/NAME", "UID", "QOS", "PROCS", "INSTANCES",
            "WATCHES", "CONTAINERS");
  size_t n = 0;
  for (const auto& p : pods) {
    if (o.top && n++ >= o.top) {
      print_out("... {} more (--top 0 for all)\n", pods.size() - o.top);
      break;
    }
    std::string name = p.pod.pod_name.empty() ? "?" : p.pod.pod_namespace + "/" + p.pod.pod_name;
    std::string containers;
    for (const auto& c : p.containers)  // a 64-hex id as its first 12, as runtimes' own tools show it
      containers += (containers.empty() ? "" : ",") + (c.size() == 64 ? c.substr(0, 12) : c);
    print_out("{:<40} {:<36} {:<10} {:>6} {:>10} {:>8}  {}\n", escape_for_text(name), p.pod.pod_uid, p.pod.qos,
              p.processes, p.instances, p.watches, escape_for_text(containers));
  }
  const PodRow& host = r.host();
  print_out("{:<40} {:<36} {:<10} {:>6} {:>10} {:>8}\n", "(not in a pod)", "-", "-", host.processes, host.instances,
            host.watches);
}

// One line per watch, printed as it goes (no text of the whole list is built).
void print_watches(const Snapshot& snap) {
  print_out("\nWATCHES\n{:>7} {:<15} {:>4} {:>5} {:<20} {:<28} {}\n", "PID", "COMM", "FD", "WD", "DEV:INO", "MASK", "PATH");
  for (const auto& inst : snap.instances) {
    const Holder* h = inst.holders.empty() ? nullptr : &inst.holders.front();
    std::string comm = h ? escape_for_text(h->comm) : "-";  // once per instance, not per watch
    for (const auto& w : inst.watches) {
      std::string path = w.path.empty() ? "-" : escape_for_text(w.path);
      if (!w.path_note.empty()) path += "  (" + escape_for_text(w.path_note) + ")";
      if (w.path_truncated) path += "  (path truncated)";
      print_out("{:>7} {:<15} {:>4} {:>5} {:<20} {:<28} {}\n", h ? h->pid : 0, comm, h ? h->fd : -1, w.wd,
                fmt::format("{}:{}:{}", w.dev.major(), w.dev.minor(), w.ino), short_mask_string(w.mask), path);
    }
  }
}

void print_text(const Snapshot& snap, const SnapshotCommandOptions& o, double ms, int64_t max_inst, uint32_t init_ns) {
  Totals t = totals(snap);
  print_out("inotrace snapshot: {} processes, {} instances, {} watches (source {}, {:.1f} ms)\n\n", t.processes,
            t.instances, t.watches, snap.source, ms);
  auto users = per_user(snap, max_inst, init_ns);
  print_out("USERS (each watch counts against its instance's user: the euid at inotify_init)\n");
  print_out("{:>7} {:>12} {:>14} {:>9} {:>11} {:>10} {:>12} {:>10}\n", "UID", "USERNS", "KERNEL_COUNT", "PRESENT",
            "MAX_WATCH", "INSTANCES", "KERNEL_INST", "MAX_INST");
  size_t n = 0;
  for (const auto& u : users) {
    if (o.top && n++ >= o.top) break;
    print_out("{:>7} {:>12} {:>14} {:>9} {:>11} {:>10} {:>12} {:>10}{}\n", u.uid, u.userns_ino ? std::to_string(u.userns_ino) : "-",
              limit_str(u.kernel_watches), u.present_watches, limit_str(u.max_watches), u.instances,
              limit_str(u.kernel_instances), limit_str(u.max_instances), u.count_mismatch() ? "  <- kernel count differs from the watches present" : "");
  }
  print_out("\nPROCESSES (by {})\n{:>7} {:<16} {:>6} {:>10} {:>8}\n", o.sort, "PID", "COMM", "UID", "INSTANCES", "WATCHES");
  n = 0;
  auto procs = sorted_processes(snap, o);
  for (const auto& p : procs) {
    if (o.top && n++ >= o.top) {
      print_out("... {} more (--top 0 for all)\n", procs.size() - o.top);
      break;
    }
    print_out("{:>7} {:<16} {:>6} {:>10} {:>8}\n", p.pid, escape_for_text(p.comm), p.uid, p.instances, p.watches);
  }
  if (o.view == "instances") {
    print_out("\nINSTANCES\n{:<20} {:>8} {:>7}  {}\n", "INSTANCE", "WATCHES", "UID", "HOLDERS (pid:fd comm)");
    for (const auto& inst : snap.instances) {
      std::string holders;
      for (const auto& h : inst.holders) holders += fmt::format("{}:{} {}  ", h.pid, h.fd, escape_for_text(h.comm));
      print_out("{:<20} {:>8} {:>7}  {}{}\n", inst.id, snap.watches_of(inst),
                inst.ucount.uid != UINT32_MAX ? std::to_string(inst.ucount.uid) : "-", holders,
                inst.truncated ? " (truncated)" : "");
    }
  }
  if (o.view == "pods") print_pods(snap, o);
  if (o.view == "watches") print_watches(snap);
  for (const auto& w : snap.warnings) log_line("warning: " + escape_for_text(w));
}

}  // namespace

int run_snapshot(const SnapshotCommandOptions& opts) {
  auto source = parse_snapshot_source(opts.source);
  if (!source) throw Error(fmt::format("--source {}: expected auto, iterator or procfs", opts.source));
  init_libbpf_logging(opts.verbose);
  auto log = [](const std::string& s) { log_line(s); };
  std::optional<KernelFacts> facts = kernel_facts_for(*source, opts.btf_path, "snapshot", log);
  ProcNodeView node("/proc", opts.runtime);
  // The text views other than "watches" show counts only: let the kernel count the watches.
  bool counts_suffice = !opts.json && opts.view != "watches";
  SnapshotTaker taker(facts ? &*facts : nullptr, *source, node, log,
                      counts_suffice || !opts.with_paths ? SnapshotNeeds::Counts : SnapshotNeeds::Paths);
  uint64_t t0 = WallClock::monotonic_now_ns();
  Snapshot snap = counts_suffice ? taker.take_tallies() : taker.take(opts.with_paths);
  double ms = (WallClock::monotonic_now_ns() - t0) / 1e6;
  apply_filters(snap, opts);

  int64_t max_inst = read_long_file("/proc/sys/fs/inotify/max_user_instances").value_or(-1);
  // PROC_USER_INIT_INO (include/linux/proc_ns.h): the initial user namespace's fixed inode.
  constexpr uint32_t init_ns = 0xEFFFFFFDu;
  if (opts.json) {
    write_json(snap, opts, ms, max_inst, init_ns);
  } else {
    print_text(snap, opts, ms, max_inst, init_ns);
  }
  return 0;
}

}  // namespace inotrace
