// `inotrace snapshot`: every inotify watch on the machine now, who holds it, what it points at,
// and whose limit it counts against.
#pragma once

#include <optional>
#include <string>

#include "events/workload_filter.h"
#include "paths/runtime_names.h"

namespace inotrace {

struct SnapshotCommandOptions {
  std::string source = "auto";  // auto | iterator | procfs
  bool json = false;
  bool with_paths = true;
  std::optional<uint32_t> pid;
  std::optional<std::string> comm;
  WorkloadFilter workload;  // --pod, --namespace, --container
  RuntimeStateDirs runtime;  // where pods and containers are named
  size_t top = 20;              // rows per table in text mode (0 = all)
  std::string view = "summary"; // summary | instances | watches | pods
  std::string sort = "watches";  // the processes' order: watches | instances
  std::string btf_path;
  bool verbose = false;
};

int run_snapshot(const SnapshotCommandOptions& opts);

}  // namespace inotrace
