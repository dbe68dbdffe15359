// What /healthz and /readyz answer (the DaemonSet's liveness and readiness probes). Live: the
// process answers, and once ready its loop keeps stepping (a loop stuck for a minute is not
// live: a restart is the remedy). Ready: the BPF programs are attached and the first snapshot
// seeded the table, so every answer the daemon gives is complete. Thread-safe: the loop sets,
// the HTTP threads read.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "serve/http_server.h"

namespace inotrace {

class DaemonHealth {
 public:
  // A loop that has not stepped for this long after readiness is reported stalled.
  static constexpr uint64_t kStallNs = 60'000'000'000ull;

  void set_ready(std::string summary);  // `summary` is the 200 body of /readyz
  void stepped();                       // the loop completed a step
  HttpResponse liveness() const;
  HttpResponse readiness() const;

 private:
  mutable std::mutex mu_;
  bool ready_ = false;
  std::string summary_;
  uint64_t last_step_ns_ = 0;
};

}  // namespace inotrace
