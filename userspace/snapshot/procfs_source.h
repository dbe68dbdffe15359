// Snapshot source B: /proc/*/fd + /proc/*/fdinfo. The fallback when the BPF iterator cannot
// load (kernels < 5.8, no BTF) and `--source procfs`. What it cannot know, compared with the
// iterator: the fsnotify_group pointer (instances are matched with kcmp instead) and the
// per-user kernel watch count / the user an instance is charged to (the euid at
// inotify_init time, not visible in /proc): SnapInstance.ucount stays unknown (count -1,
// uid UINT32_MAX). Only the iterator source reports those.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "paths/node_view.h"
#include "snapshot/snapshot.h"

namespace inotrace {

// Whether (pid1, fd1) and (pid2, fd2) are the same open file (struct file), with kcmp's answers:
// 0 same; 1 / 2 different, the first ordering before / after the second in a total order (lets
// many candidates be matched by binary search); 3 different, unordered; -errno when it cannot
// tell (-ENOSYS / -EPERM: fall back to comparing watch lists). Default: kcmp(KCMP_FILE).
using SameFileFn = std::function<int(uint32_t pid1, int32_t fd1, uint32_t pid2, int32_t fd2)>;
int kcmp_same_file(uint32_t pid1, int32_t fd1, uint32_t pid2, int32_t fd2);

struct ProcfsSourceOptions {
  std::string proc = "/proc";
  bool with_paths = true;  // resolve paths with open_by_handle_at (needs CAP_DAC_READ_SEARCH)
  SameFileFn same_file;    // empty: kcmp_same_file. Tests inject one for fake /proc trees.
  // Threads for reading fdinfo and resolving paths (big populations only); 0: min(cores, 8).
  unsigned max_threads = 0;
  // The node view whose mount tables name the paths: refreshed after the scan, when paths are
  // resolved (null: a private one over `proc`).
  NodeView* node = nullptr;
};

// What the scan skipped, for callers that want numbers (vanished ones are not warnings).
struct ProcfsScanStats {
  size_t processes = 0;           // /proc/<pid> entries seen
  size_t fds = 0;                 // fd links read
  size_t inotify_fds = 0;         // of which inotify, read successfully
  size_t vanished_processes = 0;  // exited mid-scan (ENOENT / ESRCH)
  size_t vanished_fds = 0;        // closed mid-scan
  size_t denied_processes = 0;    // EACCES / EPERM on /proc/<pid>/fd
  size_t denied_fds = 0;          // EACCES / EPERM on one fd or its fdinfo
  size_t same_file_calls = 0;     // kcmp calls made to de-duplicate instances
};

// Every inotify instance and watch, read from /proc/*/fd + /proc/*/fdinfo. Instances are ordered
// by their first holder (lowest pid, then lowest fd), holders likewise, watches by wd.
// Per-process problems never throw (they are skipped and counted, permission problems and
// parser complaints land in Snapshot.warnings); throws inotrace::Error only if `opts.proc`
// itself cannot be listed.
Snapshot take_procfs_snapshot(const ProcfsSourceOptions& opts);
Snapshot take_procfs_snapshot(const ProcfsSourceOptions& opts, ProcfsScanStats* stats);

}  // namespace inotrace
