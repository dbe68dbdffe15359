// Which pod a path belongs to: <pods-root>/<uid>/..., or the same .../var/lib/kubelet/pods/<uid>/
// shape under another root (a containerized mounter's rootfs, a node image's chroot).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace inotrace {

// The pod uid in `path`, or nullopt. A uid is one path component of [0-9A-Za-z_-] (Kubernetes
// uses UUIDs; static pods use hashes).
std::optional<std::string> pod_uid_from_path(std::string_view path, std::string_view pods_root);

}  // namespace inotrace
