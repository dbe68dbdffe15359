// Parser for /proc/<pid>/mountinfo (proc(5)): which mounts show which filesystem (dev) at which
// point, used to turn an in-filesystem path into a path the user can open.
// Never throws: malformed lines are skipped with a warning, never guessed at.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/event.h"

namespace inotrace {

struct MountEntry {
  int mount_id = 0;
  int parent_id = 0;  // may name a mount outside this process's view (e.g. the root's parent)
  KernelDev dev;      // the superblock's s_dev, same encoding as fdinfo's sdev
  // root, mount_point, fstype and source are unescaped (raw bytes: may hold spaces, newlines,
  // invalid UTF-8). The option strings are kept as printed, escapes included.
  std::string root;         // path inside the filesystem; != "/" for bind mounts of a subtree
  std::string mount_point;  // relative to the reading process's root
  std::string mount_options;
  std::vector<std::string> optional_fields;  // "shared:N", "master:N", "propagate_from:N", ...
  std::string fstype;                        // with subtype, e.g. "fuse.sshfs"
  std::string source;                        // may be "none" or empty
  std::string super_options;                 // empty only if missing (a warning says so)
};

struct MountinfoParse {
  std::vector<MountEntry> mounts;  // file order: parents before children, later mounts on top
  // One per problem ("mountinfo line N: ..."), at most kMountinfoMaxWarnings plus one
  // "N more warnings suppressed" line.
  std::vector<std::string> warnings;
};

inline constexpr size_t kMountinfoMaxWarnings = 100;

MountinfoParse parse_mountinfo(std::string_view text);

// A mount table is text a stranger shapes: a user with a user namespace of their own stacks the
// kernel's mount-max (100,000) mounts on a 4 KiB mount point, each line ~16 KiB once the kernel
// escapes it, gigabytes in all. It is read up to this many bytes, whole lines only; a busy
// node's table is a few MiB.
inline constexpr size_t kMountinfoReadLimit = 64u << 20;

// Reads and parses a mountinfo file (/proc/PID/mountinfo) within kMountinfoReadLimit; nullopt
// if it cannot be read (the process is gone). A table cut at the limit says so in a warning,
// and lists the mounts before the cut.
std::optional<MountinfoParse> read_mountinfo(const std::string& path);

// Decodes the kernel's \ooo escapes (\040 space, \011 tab, \012 newline, \134 backslash, and any
// other three-digit octal up to \377). A backslash not starting a valid escape is kept literally.
std::string unescape_mountinfo(std::string_view field);

}  // namespace inotrace
