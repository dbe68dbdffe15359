#include "cmd/check.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include <optional>

#include "leaks/pod_index.h"
#include "leaks/snapshot_leaks.h"
#include "loader/environment.h"
#include "loader/preflight.h"
#include "snapshot/aggregate.h"
#include "snapshot/snapshot_taker.h"
#include "util/error.h"
#include "util/log.h"
#include "util/small_file.h"
#include "util/standard_output.h"
#include "util/text_encoding.h"

namespace inotrace {

namespace {

struct Look {
  Snapshot snap;
  std::vector<Leak> leaks;
  CheckVerdict verdict;
};

// In a PID namespace other than the initial one (a pod without hostPID) /proc hides the other
// processes: their fds, names and mount namespaces, so the mounts that pin a leak. Such a look
// would say "ok" about a node it cannot see.
void require_host_pid_namespace() {
  std::string why;
  std::optional<bool> host = in_initial_pid_namespace(&why);
  if (!host) throw Error(why);
  if (!*host)
    throw Error("not in the host's PID namespace (in Kubernetes: hostPID: true): the node's other processes, their "
                "watches' holders and the mounts that pin leaks are hidden");
}

// One snapshot (the BPF iterator where it loads, else /proc fdinfo), the leaks it shows, the
// verdict. Throws when the node cannot be looked at.
Look look(const CheckCommandOptions& o) {
  auto source = parse_snapshot_source(o.source);
  if (!source) throw Error(fmt::format("--source {}: expected auto, iterator or procfs", o.source));
  require_host_pid_namespace();
  init_libbpf_logging(o.verbose);
  // stdout is the plugin's message; stderr only when asked (node-problem-detector ignores it).
  auto log = [&o](const std::string& s) {
    if (o.verbose) log_line(s);
  };
  std::optional<KernelFacts> facts = kernel_facts_for(*source, o.btf_path, "check", log);
  ProcNodeView node("/proc", o.runtime);
  SnapshotTaker taker(facts ? &*facts : nullptr, *source, node, log);
  Look l;
  l.snap = taker.take(/*with_paths=*/true);
  for (const auto& w : l.snap.warnings) log("warning: " + escape_for_text(w));
  PodIndex pods(o.pods_root, o.kubepods_cgroup);
  l.leaks = leaks_in_snapshot(l.snap, node, pods);
  NodeLimits limits{read_long_file("/proc/sys/fs/inotify/max_user_watches").value_or(-1),
                    read_long_file("/proc/sys/fs/inotify/max_user_instances").value_or(-1)};
  l.verdict = judge_node(l.snap, l.leaks, limits, o.thresholds);
  return l;
}

const char* status_name(CheckStatus s) {
  switch (s) {
    case CheckStatus::Ok: return "ok";
    case CheckStatus::Problem: return "problem";
    default: return "unknown";
  }
}

nlohmann::ordered_json to_json(const Look& l, bool looked) {
  nlohmann::ordered_json j;
  j["status"] = status_name(l.verdict.status);
  j["exit_code"] = static_cast<int>(l.verdict.status);
  j["message"] = sanitize_utf8(l.verdict.line);
  j["problems"] = nlohmann::ordered_json::array();
  for (const auto& p : l.verdict.problems) j["problems"].push_back({{"reason", p.reason}, {"message", sanitize_utf8(p.message)}});
  if (!looked) return j;
  Totals t = totals(l.snap);
  j["source"] = l.snap.source;
  j["totals"] = {{"processes", t.processes}, {"instances", t.instances}, {"watches", t.watches}};
  j["leaked_watches"] = l.leaks.size();
  j["warnings"] = nlohmann::ordered_json::array();
  for (const auto& w : l.snap.warnings) j["warnings"].push_back(sanitize_utf8(w));
  return j;
}

}  // namespace

int run_check(const CheckCommandOptions& opts) {
  Look l;
  bool looked = false;
  try {
    l = look(opts);
    looked = true;
  } catch (const std::exception& e) {
    l.verdict = unknown_verdict(e.what());
  }
  if (opts.json) print_out("{}\n", to_json(l, looked).dump());
  else print_out("{}\n", l.verdict.line);  // main flushes it
  return static_cast<int>(l.verdict.status);
}

}  // namespace inotrace
