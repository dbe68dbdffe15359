// Watches and instances per pod: what `snapshot --view pods`, `snapshot --json` ("pods") and
// the daemon's /api/pods show. An instance counts for every pod among its holders (usually one);
// instances held by no pod's process are summed in the host row.
#pragma once

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "snapshot/snapshot.h"

namespace inotrace {

struct ContainerCounts {
  size_t instances = 0;
  size_t watches = 0;
};

struct PodRow {
  Workload pod;                      // pod fields only (container fields empty)
  std::set<std::string> containers;  // names, or ids where the runtime's state gives no name
  // The same keys ("" for processes in the pod's own cgroup): what each container's processes
  // hold (an instance shared by two containers counts for both).
  std::map<std::string, ContainerCounts> by_container;
  size_t processes = 0;
  size_t instances = 0;
  size_t watches = 0;
};

class PodRollup {
 public:
  void add(const std::vector<Holder>& holders, size_t watches);
  // Pods by watches (most first, then namespace/name/uid); `host` gets the rest.
  std::vector<PodRow> pods() const;
  const PodRow& host() const { return host_; }

 private:
  std::map<std::string, PodRow> by_uid_;
  std::map<std::string, std::set<uint32_t>> pids_;
  std::set<uint32_t> host_pids_;
  PodRow host_;
};

PodRollup per_pod(const Snapshot& snap);

}  // namespace inotrace
