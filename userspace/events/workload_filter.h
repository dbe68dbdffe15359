// --pod, --namespace and --container of `trace` and `snapshot`: which workloads to show. A
// process whose pod is unknown (outside pods, or exited before it was looked up) matches no
// pod filter.
#pragma once

#include <optional>
#include <string>

#include "events/workload.h"

namespace inotrace {

struct WorkloadFilter {
  std::optional<std::string> pod;        // "NAMESPACE/NAME" or the pod's uid
  std::optional<std::string> namespace_;  // the pod's namespace
  std::optional<std::string> container;  // the container's name, id, or id prefix (>= 12 chars)
  bool active() const { return pod || namespace_ || container; }
  bool matches(const Workload* w) const;
};

}  // namespace inotrace
