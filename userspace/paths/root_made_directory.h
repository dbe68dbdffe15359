// Whether a directory, as a process sees it, is one only root can have put there: it and every
// directory above it up to that process's root are owned by uid 0 and writable by nobody else
// (a sticky directory such as /tmp may be: its other users' entries are their own). A user can
// make /tmp/var/lib/kubelet/pods/<uid>, or mount a tmpfs there in a namespace of their own
// (whose files are theirs, seen from here); neither passes. Used before a path is believed to
// name a pod of kubelet's.
#pragma once

#include <cstdint>
#include <string>

namespace inotrace {

// `dir` is resolved inside the root of `pid` (symlinks included, as the process would follow
// them) through `proc`/PID/root. False when it cannot be looked at (process gone, not a
// directory, a step that fails).
bool root_made_directory(const std::string& proc, uint32_t pid, const std::string& dir);

}  // namespace inotrace
