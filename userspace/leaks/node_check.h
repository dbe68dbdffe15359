// The verdict of `inotrace check` (a node-problem-detector custom plugin): from one snapshot and
// the leaks it shows, is inotify on this node ok, in trouble, or could it not be looked at?
// Problems, most severe first: watches leaked into dead pods, a user near max_user_watches, a
// user near max_user_instances. The verdict's line names the problem, the top holder (pod and
// container, or host process) and, for leaks, the pinning mount and what unmounting it or
// restarting the holder would free; every name in it is escaped, so it stays one line.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "leaks/leak_detector.h"
#include "snapshot/snapshot.h"

namespace inotrace {

struct CheckThresholds {
  double watches_pct = 80;    // a user's watches >= this % of max_user_watches is a problem
  double instances_pct = 80;  // likewise for instances and max_user_instances
  size_t leaks_max = 0;       // more leaked watches than this is a problem
};

// The initial user namespace's limits (/proc/sys/fs/inotify), for users whose limit the
// snapshot does not carry (the procfs source knows no charged user). -1: unknown.
struct NodeLimits {
  int64_t max_user_watches = -1;
  int64_t max_user_instances = -1;
};

// Exit codes of a node-problem-detector plugin.
enum class CheckStatus { Ok = 0, Problem = 1, Unknown = 2 };

struct CheckProblem {
  std::string reason;   // InotifyWatchLeak | InotifyWatchesNearLimit | InotifyInstancesNearLimit
  std::string message;  // one line, starting with the reason
};

struct CheckVerdict {
  CheckStatus status = CheckStatus::Unknown;
  std::vector<CheckProblem> problems;  // most severe first
  std::string line;  // what the plugin prints: the first problem, or why ok / unknown
};

CheckVerdict judge_node(const Snapshot& snap, const std::vector<Leak>& leaks, const NodeLimits& limits,
                        const CheckThresholds& thresholds);

// The verdict when the node could not be looked at (privileges, procfs, BTF): `why` is escaped.
CheckVerdict unknown_verdict(const std::string& why);

}  // namespace inotrace
