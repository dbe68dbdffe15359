// `inotrace trace`: the live per-syscall audit log.
#pragma once

#include <string>

#include "events/workload_filter.h"
#include "session/trace_session.h"

namespace inotrace {

struct TraceCommandOptions {
  SessionOptions session;
  bool json = false;
  std::string output_path;  // empty = stdout
  double duration_s = 0;    // 0 = until SIGINT/SIGTERM
  WorkloadFilter workload;  // --pod, --namespace, --container (applied in userspace)
};

int run_trace(const TraceCommandOptions& opts);

}  // namespace inotrace
