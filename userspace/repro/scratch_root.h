// A throw-away directory tree that stands in for a node's "/" in the kubelet pod-churn
// scenario (repro/pod_scenario.h): it holds mounts and helper processes, and everything it
// made is removed again, even after the process that made it was killed.
//
// Layout: <parent>/inotrace-pods.XXXXXX/ (mode 0700, from mkdtemp) with a marker file
// ".inotrace-scratch-root" ("inotrace-scratch-root v1", creator pid and its start time, mode
// 0600), so that cleanup_stale() can tell our roots from anything else.
//
// The parent must be a directory nobody else can redirect (repro/output_dir.h,
// require_trusted_directory): mounts are made and removed by path.
//
// Mount propagation (the reason for the self-bind):
//   Propagation is a property of a mount, not of a directory, so the root is bind-mounted onto
//   itself and that mount is made private recursively (mount --make-rprivate). Then:
//   - nothing mounted under the root (pods' tmpfs, bind mounts) propagates anywhere: not to the
//     host's peer group (systemd makes "/" shared), not into containers that are slaves of it;
//   - nothing the host mounts elsewhere propagates into the root;
//   - private, not slave: we want exact control over which namespace holds which copy;
//   - not unbindable: the scenario binds and clones (open_tree) volumes from inside it.
//   The self-bind itself is created under the parent's mount: if that mount is shared, this one
//   mount event propagates to its peers/slaves (a bind of the same, then still empty,
//   directory); our umount of it at cleanup propagates the same way and removes those copies.
//   It is made private before anything is mounted under it, so no pod mount ever leaks out.
//   Other namespaces that copy our namespace later (unshare, a container start) still get
//   private copies of our mounts, which can keep our tmpfs alive: that is what the scenario's
//   "pinned from another namespace" reproduces on purpose, with its own helpers.
//
// Helper processes are adopted here (in memory only); cleanup kills (SIGKILL) and reaps them
// before it unmounts: they are our unreaped children, so their pids cannot have been reused.
// Helpers also carry PR_SET_PDEATHSIG=SIGKILL, which fires when the *thread* that forked them
// exits: create helpers from a thread that lives as long as the scenario.
//
// A killed run's root (cleanup_stale) — why it signals nobody:
//   Its helpers are already gone: PR_SET_PDEATHSIG is set before a helper does anything (and a
//   parent that died before that is caught by the getppid() check), it survives exec (watchers
//   are not set-uid), so the kernel killed them with the run, and their mount namespaces with
//   them. What a file in the directory says about processes is never trusted: a pid there could
//   have been written by anyone who could write the directory, or reused since. So cleanup_stale
//   only undoes filesystem state (unmount, MNT_DETACH where a dying process still holds a mount;
//   remove the tree), and only for a root verifiably ours: a real directory (not a symlink) owned
//   by us with mode 0700, whose marker is a regular file owned by us and writable by nobody
//   else, naming a creator that is dead. Anything else is left alone and reported.
//
// Errors: inotrace::Error naming the failing syscall, the path and strerror.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "paths/mountinfo.h"

namespace inotrace::repro {

inline constexpr const char* kScratchRootPrefix = "inotrace-pods.";
inline constexpr const char* kScratchMarkerName = ".inotrace-scratch-root";
inline constexpr const char* kScratchMarkerMagic = "inotrace-scratch-root v1";

class ScratchRoot {
 public:
  // Creates <parent>/inotrace-pods.XXXXXX (parent must exist), writes the marker, self-binds and
  // makes it rprivate. Refuses a parent that is, or is inside, the real /var/lib/kubelet.
  // Needs CAP_SYS_ADMIN.
  explicit ScratchRoot(const std::string& parent = "/tmp");
  ~ScratchRoot();  // cleanup(), errors printed to stderr
  ScratchRoot(const ScratchRoot&) = delete;
  ScratchRoot& operator=(const ScratchRoot&) = delete;

  const std::string& path() const { return path_; }  // canonical (realpath), no trailing '/'
  std::string sub(const std::string& rel) const { return path_ + "/" + rel; }

  // Helper processes (children of the calling process) that cleanup() must SIGKILL and reap.
  // Kept in memory only: no file ever names a process to signal.
  void adopt_process(pid_t pid);
  // SIGKILL and reap one adopted process now (no-op if not adopted or already gone).
  void kill_process(pid_t pid);
  std::vector<pid_t> processes() const { return processes_; }

  // Kills and reaps the adopted processes, unmounts every mount at or under path() in this
  // mount namespace (deepest first; MNT_DETACH if a plain umount fails with EBUSY), then removes
  // the tree without ever crossing into another mount. Idempotent: later calls do nothing.
  void cleanup();
  bool cleaned_up() const { return cleaned_; }

  // Removes every <parent>/inotrace-pods.* that is verifiably ours (see above) and whose creator
  // is dead (no such pid, or a pid reused by a process with another start time): unmounts and
  // removes it as cleanup() does, without signalling any process. Roots of live creators are
  // skipped; anything not verifiably ours is left alone and listed in `refused` with the reason.
  struct StaleRoots {
    std::vector<std::string> removed;  // paths
    std::vector<std::string> refused;  // "path: reason"
  };
  static StaleRoots cleanup_stale(const std::string& parent = "/tmp");

 private:
  std::string path_;
  std::vector<pid_t> processes_;
  bool cleaned_ = false;
};

// Mounts whose mount point is `dir` or lies under it, as /proc/<pid>/mountinfo shows them
// (pid 0: this process). Throws if that file cannot be read.
std::vector<MountEntry> mounts_under(const std::string& dir, pid_t pid = 0);

// rm -rf that never follows symlinks and never enters another mount (kubelet's
// RemoveAllOneFilesystem): throws on meeting a directory on another mount (what was removed
// before that stays removed). A missing path is not an error.
void remove_tree_one_filesystem(const std::string& path);

// /proc/<pid>/stat field 22 (start time in clock ticks since boot); 0 if the process is gone.
unsigned long long process_start_time(pid_t pid);
// True if pid exists and is neither a zombie nor dead.
bool process_running(pid_t pid);

}  // namespace inotrace::repro
