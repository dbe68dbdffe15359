// Whether a process's mount namespace belongs to the initial user namespace (the one inotrace
// runs in, on a node), where only root can mount. Any user can make a user namespace of their own and, in a mount namespace it owns,
// mount and bind at will: over /tmp/u/var/lib they can bind the real /var/lib after watching a
// tree of their own there, so that the pods directory their watch's path names IS the pods root
// when looked at later. The leak detector believes paths and mount points only from namespaces
// this says yes to.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace inotrace {

// Yes / no; nullopt when it cannot be told (the process is gone; a kernel before 4.9 without
// NS_GET_USERNS).
std::optional<bool> mount_ns_owned_by_initial_user_ns(const std::string& proc, uint32_t pid);

}  // namespace inotrace
