// Names every watch of an iterator snapshot the way its watcher sees it: the in-filesystem
// path the kernel walked, joined with a mount of that filesystem in the watcher's own mount
// namespace (else in another one, saying so). A watch that cannot be named says why.
#pragma once

#include "paths/mount_namespaces.h"
#include "snapshot/snapshot.h"

namespace inotrace {

void resolve_snapshot_paths(Snapshot& snap, const MountNamespaces& mounts);

// The best mount of `dev` under which `fs_path` lies, in `ns` (nullptr: any namespace).
// Prefers the most specific mount root (bind mounts of subtrees), then the shortest mount point.
std::optional<std::pair<MountRef, std::string>> find_mount_path(const MountNamespaces& mounts, KernelDev dev,
                                                                const std::string& fs_path,
                                                                const NamespaceMounts* ns);

}  // namespace inotrace
