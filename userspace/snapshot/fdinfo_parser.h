// Parser for the text of /proc/<pid>/fdinfo/<fd> of an inotify fd: the procfs view of an
// instance's watches, used to reconcile watches that existed before tracing began.
// Never throws: malformed lines are skipped with a warning, never guessed at.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/event.h"
#include "paths/file_handle.h"

namespace inotrace {

// One "inotify wd:..." line.
struct FdinfoWatch {
  int32_t wd = 0;  // always > 0
  uint64_t ino = 0;
  KernelDev dev;  // sdev: the superblock's s_dev
  // Modern kernels print the user mask (IN_* events plus IN_ONESHOT / IN_EXCL_UNLINK);
  // old ones (e.g. 4.18) print only mask & IN_ALL_EVENTS, so those flag bits are unknown there.
  uint32_t mask = 0;
  uint32_t ignored_mask = 0;  // always 0 on modern kernels; may be non-zero on old ones
  std::optional<FileHandle> handle;  // absent without CONFIG_EXPORTFS or if encoding failed
};

struct FdinfoParse {
  std::vector<FdinfoWatch> watches;  // file order (the kernel lists the newest mark first)
  std::optional<uint32_t> flags;     // "flags:" (octal in the file): the fd's open flags
  std::optional<int> mnt_id;         // "mnt_id:"
  // Human-readable, one per problem ("fdinfo line N: ..."), at most kFdinfoMaxWarnings plus one
  // "N more warnings suppressed" line.
  std::vector<std::string> warnings;
  // True if any line started with "inotify " (even a malformed one). An inotify fd with no
  // watches has none, so this cannot tell whether the fd is an inotify instance.
  bool saw_inotify_line = false;
};

inline constexpr size_t kFdinfoMaxWarnings = 100;

FdinfoParse parse_inotify_fdinfo(std::string_view text);

}  // namespace inotrace
