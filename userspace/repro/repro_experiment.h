// `inotrace repro`: churn N kubelet-like pods in a scratch root, let the containerized mounter
// "forget" a fraction of their volumes, delete every pod the way kubelet does, and measure with
// inotrace's own live table what leaked and what pins it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "daemon/node_monitor.h"
#include "leaks/leak_detector.h"

namespace inotrace::repro {

struct ReproOptions {
  int pods = 50;
  double pin_fraction = 0.2;
  double rate = 10;              // pods created per second
  double lifetime_s = 1;         // each pod lives this long before kubelet deletes it
  std::string watcher;           // "" = built-in; else a command template with {}
  std::string out_dir;           // reports go here; the scratch root too
  double settle_s = 3;           // after the last deletion
  SessionOptions session;
};

struct PodResult {
  std::string uid;
  bool pinned = false;
  int added = 0;
  std::map<std::string, int> removed;  // by reason
  int leaked = 0;
  std::vector<Pin> pinned_by;
};

struct TimelinePoint {
  double t = 0;
  size_t live_watches = 0;  // watches of the experiment's watchers
  size_t pods_alive = 0;
  size_t leaked_watches = 0;
  std::map<uint32_t, size_t> user_watches;  // all watches on the node, per uid
};

struct ReproReport {
  ReproOptions options;
  std::string backend, kernel, scratch_root;
  std::vector<PodResult> pods;
  std::vector<TimelinePoint> timeline;
  // --stacks: each leaked watch of the experiment's watchers, with the stack that created it
  // (null if its creation was not seen) and its pod's uid.
  std::vector<std::pair<std::shared_ptr<const CreationStack>, std::string>> leaked_stacks;
  bool interrupted = false;
  double duration_s = 0;
};

// Runs the experiment; cleans up everything it created, also when interrupted (SIGINT/SIGTERM
// stop it between steps). Throws inotrace::Error on setup failures.
ReproReport run_experiment(const ReproOptions& opts, TraceSession::Log log);

}  // namespace inotrace::repro
