// The kernel's current truth about inotify: every instance, who holds it, and its watches.
// Produced by the BPF iterator (snapshot/iter_source) or by /proc fdinfo (snapshot/procfs_source).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "events/event.h"
#include "events/workload.h"

namespace inotrace {

// One (process, fd) that refers to an instance. fork/dup/SCM_RIGHTS share one instance.
struct Holder {
  uint32_t pid = 0;
  int32_t fd = -1;
  std::string comm;
  uint32_t uid = 0;        // the process's uid
  uint64_t mnt_ns = 0;     // its mount namespace (inode of /proc/PID/ns/mnt), 0 if unknown
  bool from_event = false;  // learned from a live event (it added or created), not seen by a snapshot
  // Its pod and container, or unit; shared by the processes of one cgroup, null when unknown.
  std::shared_ptr<const Workload> workload;
};

struct SnapWatch {
  // (Fields ordered so the small ones share 8-byte words: 128 bytes a row, a million rows at 1M.)
  int32_t wd = 0;
  uint32_t mask = 0;        // as fdinfo prints it (IN_* | IN_ONESHOT | IN_EXCL_UNLINK)
  uint64_t ino = 0;
  KernelDev dev;
  uint32_t kernel_flags = 0;  // INOTRACE_F_PATH_* from the dentry walk
  PathSource fs_path_source = PathSource::None;  // Dentry | Kernfs | None
  // Filled by the PathResolver (with path and path_note below):
  PathSource path_source = PathSource::None;
  bool path_truncated = false;  // `path` is "…/" + the known tail (the head could not be named)
  std::string fs_path;      // path inside the target's filesystem (iterator), "" if unknown
  std::string path;         // absolute path as the watcher sees it, or "" (see path_note)
  std::string path_note;    // why there is no path: "unlinked", "not mounted in any namespace", ...
};

struct SnapInstance {
  uint64_t group = 0;       // fsnotify_group pointer (iterator); 0 for procfs
  std::string id;           // stable within a snapshot: group hex, or "pid:fd" of the first holder
  std::vector<Holder> holders;
  UcountInfo ucount;        // the user this instance's watches count against
  int64_t user_instances = -1;  // the kernel's count of that user's instances (iterator); -1 unknown
  int64_t max_instances = -1;   // that user namespace's max_user_instances (iterator)
  std::vector<SnapWatch> watches;
  bool truncated = false;   // not every watch could be read
  // Digest-only snapshots (no watches): xor of inotrace_watch_digest() over its watches.
  uint64_t digest = 0;
  uint32_t digest_watches = 0;
};

struct Snapshot {
  std::string source;       // "iterator" | "procfs"
  uint64_t taken_mono_ns = 0;
  std::vector<SnapInstance> instances;
  std::vector<std::string> warnings;  // what was skipped and why
  bool digests_only = false;  // instances carry digests instead of watches
  bool counts_only = false;   // instances carry neither: only their users' kernel watch counts
  // procfs source: processes whose fds (all or some) could not be read for lack of permission.
  // Non-zero means the snapshot is not the whole node (`inotrace check` then cannot say "ok").
  size_t denied_processes = 0;
  size_t watch_count() const;
  // An instance's number of watches: its list, or in a digest-only snapshot the kernel's count.
  size_t watches_of(const SnapInstance& inst) const { return digests_only ? inst.digest_watches : inst.watches.size(); }
};

}  // namespace inotrace
