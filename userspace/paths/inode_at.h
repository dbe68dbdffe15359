// Does a path still name a given inode? Asked through a process's root (/proc/PID/root/...),
// so that its mount namespace decides what the path means. The one check behind "stale" (leak
// detector) and "target gone" (removal deduction).
#pragma once

#include <cstdint>
#include <string>

#include <sys/stat.h>

#include "events/event.h"

namespace inotrace {

enum class InodeAt {
  Same,     // the path names that inode
  Other,    // it names another inode (or the same number on another device)
  Gone,     // nothing there (ENOENT, ENOTDIR)
  Unknown,  // could not look (EACCES, ENAMETOOLONG, ...)
};

// Whether a stat result is the inode (dev, ino): the one comparison behind every check below.
bool is_inode(const struct stat& st, KernelDev dev, uint64_t ino);

// What `path` (absolute) names as `pid` sees it, compared with (dev, ino). `proc` is the procfs
// root (tests point it elsewhere).
InodeAt inode_at(const std::string& proc, uint32_t pid, const std::string& path, KernelDev dev, uint64_t ino);
// The same, in this process's own view.
InodeAt inode_at(const std::string& path, KernelDev dev, uint64_t ino);
// Whether `pid` still exists under `proc` (its /proc/PID/root can be looked at).
bool process_visible(const std::string& proc, uint32_t pid);

}  // namespace inotrace
