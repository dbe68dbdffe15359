// The rule every output follows: a path that starts with '/' is a whole absolute path as the
// watcher sees it. What inotrace knows only in part is written so that it cannot pass for one:
//   "…/c/d/leaf"    truncated: only the tail is known (deeper than the kernel's walk, and the
//                   head could not be named from userspace); JSON adds "path_truncated": true
//   "0:22:/sub/f"   MAJ:MIN:/path — a path inside the filesystem with that device, whose mount
//                   is unknown (the watcher exited and the mount is gone); path_source says
//                   "dentry" (or "kernfs")
#pragma once

#include <string>
#include <string_view>

#include "events/event.h"

namespace inotrace {

inline constexpr std::string_view kTruncationMark = "\xe2\x80\xa6";  // U+2026 HORIZONTAL ELLIPSIS

// "…" + tail, with a '/' between them.
std::string truncated_path(std::string_view tail);
// "MAJ:MIN:" + fs_path.
std::string fs_relative_path(KernelDev dev, std::string_view fs_path);

}  // namespace inotrace
