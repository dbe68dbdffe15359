// What a process is in Kubernetes terms: its pod and container (from its cgroup, named from the
// container runtime's state on the node), or the systemd unit of a host process. Empty fields
// are unknown. paths/node_view.h finds it; outputs show it beside the process.
#pragma once

#include <string>

namespace inotrace {

struct Workload {
  std::string pod_uid;        // "" outside a pod
  std::string pod_namespace;  // "" when the runtime's state does not say
  std::string pod_name;
  std::string qos;            // "guaranteed" | "burstable" | "besteffort"
  std::string container_id;   // "" for a pod's own cgroup, or outside containers
  std::string container_name;
  std::string runtime;        // "containerd" | "cri-o" | "docker" | ""
  std::string unit;           // a host process's systemd unit ("kubelet.service"), else ""
  bool in_pod() const { return !pod_uid.empty(); }
  bool operator==(const Workload&) const = default;
};

}  // namespace inotrace
