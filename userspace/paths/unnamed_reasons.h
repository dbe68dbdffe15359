// Why a watch's target has no path: the one set of reasons every path resolver gives (the live
// event completer, both snapshot sources, the fdinfo completion, the file-handle resolver), so
// the same condition reads the same in every output. docs/JSON.md lists them for users.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "events/event.h"

namespace inotrace::unnamed {

// The kernel gave no name to start from.
inline constexpr std::string_view kNoDentry = "no dentry (pruned, or a pseudo filesystem)";
inline constexpr std::string_view kPathsNotCollected = "paths not collected";
inline constexpr std::string_view kNoFileHandle = "no file handle in fdinfo (kernel without CONFIG_EXPORTFS?)";
inline constexpr std::string_view kNoDecodableHandle = "no decodable file handle (pseudo filesystem)";
std::string unlinked(std::string_view fs_path);  // "unlinked (was PATH)"

// Where the filesystem is (not) mounted.
std::string not_mounted(std::string_view fs_path = {});  // "... (in-filesystem path X)" when known
std::string mounted_elsewhere(uint64_t mnt_ns, uint32_t pid);
std::string outside_every_mount(KernelDev dev, std::string_view fs_path);
inline constexpr std::string_view kOutsideWatchersRoot = "not mounted below the watcher's root (chroot)";
inline constexpr std::string_view kWatcherNamespaceUnknown = "watcher's mount namespace unknown";
inline constexpr std::string_view kOutsideEveryMountedSubtree = "outside every mounted subtree of its filesystem";

}  // namespace inotrace::unnamed
