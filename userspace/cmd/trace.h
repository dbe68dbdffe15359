// `inotrace trace`: the live per-syscall audit log.
#pragma once

#include <string>

#include "session/trace_session.h"

namespace inotrace {

struct TraceCommandOptions {
  SessionOptions session;
  bool json = false;
  std::string output_path;  // empty = stdout
  double duration_s = 0;    // 0 = until SIGINT/SIGTERM
};

int run_trace(const TraceCommandOptions& opts);

}  // namespace inotrace
