// Opening a file for writing as root in directories other users can write to (/tmp, a
// 1777 --out): a planted symlink or file must never redirect root's output.
//
// The path is resolved one component at a time (openat + O_NOFOLLOW). A symlink on the way is
// followed only when it belongs to the caller or to root (what fs.protected_symlinks=1 would
// enforce in sticky directories; this does not rely on that sysctl). The last component is never
// followed. An existing target must be a regular file or a FIFO owned by the caller, or a
// character device such as /dev/null; with OutputMode::CreateNew it must not exist at all (O_EXCL).
#pragma once

#include <string>

#include "util/unique_fd.h"

namespace inotrace {

enum class OutputMode {
  Replace,    // create, or truncate an existing regular file the caller owns
  CreateNew,  // create; fail if anything exists at the path
};

// Throws inotrace::Error with a one-line reason naming the path.
UniqueFd open_output_file(const std::string& path, OutputMode mode, unsigned perms = 0644);

// Opens a directory for reading the same way (every symlink on the way, the last included, only
// if it is the caller's or root's); throws inotrace::Error.
UniqueFd open_directory_safely(const std::string& path);

}  // namespace inotrace
