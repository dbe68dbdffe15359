// The names of a pod and container, from the container runtime's own state on the node: no API
// server, no network, no RBAC. containerd keeps each task's OCI bundle
// (<task root>/<namespace>/<id>/config.json) with the CRI annotations
// io.kubernetes.cri.{sandbox-name,sandbox-namespace,sandbox-uid,container-name}; CRI-O keeps
// <storage>/<id>/userdata/config.json with io.kubernetes.{pod.name,pod.namespace,pod.uid,
// container.name}. Failing both, kubelet's log directory /var/log/pods/<namespace>_<name>_<uid>
// names the pod. Container ids come from cgroup names and are checked to be hex before they
// become a path.
#pragma once

#include <string>
#include <string_view>

#include "events/workload.h"

namespace inotrace {

struct RuntimeStateDirs {
  static constexpr const char* kContainerdTasks = "io.containerd.runtime.v2.task";
  std::string containerd_tasks = std::string("/run/containerd/") + kContainerdTasks;
  std::string crio_containers = "/run/containers/storage/overlay-containers";
  std::string pod_logs = "/var/log/pods";
};

// Fills w's names (pod namespace and name, container name) where the runtime's state says them.
void name_from_runtime_state(Workload& w, const RuntimeStateDirs& dirs);

// The annotations of one OCI config.json, as names (tests feed the documented shapes).
void name_from_oci_config(Workload& w, std::string_view config_json);

}  // namespace inotrace
