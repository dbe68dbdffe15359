// `inotrace check`: one look at the node for a node-problem-detector custom plugin. Exit 0 (ok),
// 1 (problem) or 2 (could not look), and one line on stdout naming the problem (leaks/node_check.h).
#pragma once

#include <string>

#include "leaks/node_check.h"
#include "paths/runtime_names.h"

namespace inotrace {

struct CheckCommandOptions {
  CheckThresholds thresholds;
  std::string pods_root = "/var/lib/kubelet/pods";
  std::string kubepods_cgroup;  // "" auto-detect, "none" ignore
  RuntimeStateDirs runtime;     // where holders' pods and containers are named
  std::string source = "auto";  // auto | iterator | procfs
  std::string btf_path;
  bool json = false;
  bool verbose = false;
};

// Never throws: whatever stops it from looking is the "unknown" verdict (exit 2).
int run_check(const CheckCommandOptions& opts);

}  // namespace inotrace
