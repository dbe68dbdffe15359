// Who a process is in Kubernetes terms, from the cgroup the kernel puts it in: the pod (uid and
// QoS class), the container (id and runtime), or, outside every pod, the systemd unit. Needs no
// API server: kubelet names pod cgroups after the pod's uid, the runtimes name container
// cgroups after the container's id. The shapes, by driver and runtime:
//
//   cgroupfs driver   /kubepods[/burstable|/besteffort]/pod<uid>/<id>          (containerd, docker)
//                     /kubepods[/burstable|/besteffort]/pod<uid>/crio-<id>     (CRI-O)
//   systemd driver    /kubepods.slice[/kubepods-<qos>.slice]/kubepods[-<qos>]-pod<uid with _>.slice/
//                         cri-containerd-<id>.scope | crio-<id>.scope | crio-conmon-<id>.scope |
//                         docker-<id>.scope
//
// (kubelet: pkg/kubelet/cm/cgroup_manager_linux.go and qos_container_manager_linux.go; the
// runtimes' scope prefixes: containerd's and CRI-O's systemd cgroup managers, docker's
// "docker-<id>.scope".) A kubepods tree nested deeper (kind: /kubelet.slice/kubelet-kubepods.slice/
// ..., cgroup v1 controller roots) is found by its kubepods component wherever it is.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace inotrace {

struct CgroupIdentity {
  std::string pod_uid;       // "" outside a pod; with dashes
  std::string qos;           // "guaranteed" | "burstable" | "besteffort"; "" outside a pod
  std::string container_id;  // "" for a pod's own cgroup, or outside containers
  std::string runtime;       // "containerd" | "cri-o" | "docker" | "" (cgroupfs ids do not say)
  std::string unit;          // outside pods: the systemd unit ("kubelet.service"), else ""
  bool operator==(const CgroupIdentity&) const = default;
};

CgroupIdentity identify_cgroup(std::string_view cgroup_path);

// The cgroup path that places a process, from the text of /proc/PID/cgroup: a v1 hierarchy's
// (memory, then pids, cpu, name=systemd, any other), else the unified one's ("0::PATH"; on a
// hybrid host it follows systemd, not the container runtime).
std::optional<std::string> cgroup_path_of(std::string_view proc_pid_cgroup);
// The same, with the hierarchy it came from (its controllers, as in "memory" or "cpu,cpuacct";
// "" for the unified one): where to find the cgroup's directory.
struct CgroupPlacement {
  std::string path;
  std::string hierarchy;
};
std::optional<CgroupPlacement> cgroup_placement_of(std::string_view proc_pid_cgroup);

// A container id as runtimes write it: 12 to 64 lowercase hex digits (also what makes it safe
// to put in a path).
bool is_container_id(std::string_view id);

// The pod uid in one cgroup directory name ("pod<uid>", "kubepods-burstable-pod<uid_>.slice").
std::optional<std::string> pod_uid_from_cgroup_name(std::string_view name);

}  // namespace inotrace
