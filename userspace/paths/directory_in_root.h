// Which directory a path names as a process sees it: its (st_dev, st_ino), looked up inside that
// process's root. The leak detector believes a pod-shaped path only when its pods directory is
// the node's pods root itself (or a bind of it, as a containerized mounter's rootfs holds): a
// user can make /tmp/x/var/lib/kubelet/pods/<any uid>, or mount a tmpfs there in a namespace of
// their own, and neither is that directory.
//
// Only root's symlinks are followed: a user could otherwise watch a tree of their own and then
// swap its pods directory for a symlink to the real one (or to "/"). A symlink belongs to whoever
// made it, and a user can neither make nor move one into a directory they cannot write; one
// with more than one link may be root's hard-linked into the user's directory (possible where
// fs.protected_hardlinks is 0) and is not followed either. What a user mounts in a namespace of
// their own is the caller's to refuse (mount_ns_owner.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace inotrace {

// `dir` resolved inside the root of `pid` (reached through `proc`/PID/root; ".." stops at that
// root, absolute symlinks start from it), one component at a time. nullopt when it is not a
// directory, a symlink on the way is not root's, more than 40 symlinks are followed, or a step
// fails (the process is gone, EACCES).
std::optional<std::pair<uint64_t, uint64_t>> directory_in_root(const std::string& proc, uint32_t pid,
                                                               const std::string& dir);

}  // namespace inotrace
