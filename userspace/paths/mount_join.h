// The dentry + mount join: an in-filesystem path (what the kernel walks from a dentry, or what a
// file handle reopens) becomes the path a process sees by way of a mount of that filesystem in
// its view. The one implementation; every resolver joins through it.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "paths/mount_namespaces.h"
#include "paths/mountinfo.h"

namespace inotrace {

// The mount point joined with `rel`, a path relative to the mount's root ("" or "/x/y").
std::string join_mount_point(const MountEntry& m, std::string_view rel);
// mount point + (fs_path below the mount's root), or nullopt if fs_path is not below it.
std::optional<std::string> join_mount_path(const MountEntry& m, std::string_view fs_path);

// Of the mounts under which fs_path lies, the best: the most specific mount root (a bind mount
// of a subtree), then the shortest mount point. nullopt if it lies under none.
std::optional<std::pair<const MountEntry*, std::string>> best_mount_path(std::span<const MountEntry* const> mounts,
                                                                         std::string_view fs_path);

// The best mount of `dev` under which `fs_path` lies, in `ns` (nullptr: any namespace).
std::optional<std::pair<MountRef, std::string>> find_mount_path(const MountNamespaces& mounts, KernelDev dev,
                                                                std::string_view fs_path, const NamespaceMounts* ns);

}  // namespace inotrace
