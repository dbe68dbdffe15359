// The kubelet pod-churn scenario (README.md, "inotrace repro"): pods whose projected volumes are mounted by a
// "containerized mounter" and bind-mounted to kubelet's path, watched through inotify, then
// deleted the way kubelet deletes them; with or without something that keeps the volume's tmpfs
// alive ("pins" it), which is what leaks the watches. Used by e2e tests and `inotrace repro`.
//
// Everything lives under a ScratchRoot (repro/scratch_root.h), which owns the helper processes
// and removes all mounts and files. Layout under the root:
//   var/lib/kubelet/pods/<uid>/volumes/kubernetes.io~projected/kube-api-access-<5>   (kubelet)
//   var/lib/kubelet/pods/<uid>/volumes/kubernetes.io~configmap/config                (plain dir)
//   home/kubernetes/containerized_mounter/rootfs/var/lib/kubelet/pods/<uid>/volumes/
//       kubernetes.io~projected/kube-api-access-<5>                         (the mounter's tmpfs)
//   other-ns/<uid>/kube-api-access-<5>      (where a helper's own mount namespace binds it)
//
// Kernel behaviour reproduced (checked by tests/live/pod_scenario_live_test.cpp):
//   - a tmpfs lives while any mount of it exists in any namespace; its inotify watches live with
//     it. When the last mount goes, the watches end with IN_UNMOUNT + IN_IGNORED.
//   - rmdir of a directory that is a mount point in *another* namespace succeeds and detaches
//     those mounts (Linux >= 3.18), so a copy at the same directory does not pin anything.
//
// All calls are idempotent where that makes sense and throw inotrace::Error naming the failing
// syscall, the path and strerror. Not thread-safe; helpers die with the thread that made them.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "repro/scratch_root.h"
#include "snapshot/fdinfo_parser.h"

namespace inotrace::repro {

// What keeps a pod's projected-volume tmpfs mounted after kubelet deleted the pod.
enum class Pinning {
  None,                   // control: the mounter unmounts too; the watches end (IN_UNMOUNT)
  MounterSameNamespace,   // the mounter never unmounts: leak, pinned at mounter_volume, this ns
  OtherNamespace,         // a helper's own mount namespace binds it at other_ns_mount: leak
  OtherNamespaceSameDir,  // control: a helper's namespace holds it at kubelet's own path; NOT a
                          // pin, the rmdir of that path detaches it; the watches end (IN_UNMOUNT)
};
const char* to_string(Pinning p);
// True for the pinnings that leak after delete_pod().
inline bool leaks(Pinning p) {
  return p == Pinning::MounterSameNamespace || p == Pinning::OtherNamespace;
}

struct PodSpec {
  std::string uid;  // empty: a random UUID. Must not contain '/' nor be "." or "..".
  Pinning pinning = Pinning::None;
};

struct PodPaths {
  std::string uid;
  Pinning pinning = Pinning::None;
  std::string pod_dir;  // <root>/var/lib/kubelet/pods/<uid>
  std::string volume;   // kubelet's path: a bind of mounter_volume
  // <root>/home/kubernetes/containerized_mounter/rootfs/var/lib/kubelet/pods/<uid>
  std::string mounter_pod_dir;
  std::string mounter_volume;  // the tmpfs mount itself
  std::string configmap_dir;   // a plain directory on the scratch root's filesystem
  std::string data_dir;        // the atomic writer's "..2026_11_27_04_00_00.123456789" (name)
  std::string other_ns_mount;  // where other_ns_pid's namespace mounts the volume; "" if none
  pid_t other_ns_pid = -1;     // the helper holding that namespace; -1 if none
};

// The mask kubelet's fsnotify watchers use (fdinfo "mask:fc6"): IN_MODIFY|IN_ATTRIB|
// IN_MOVED_FROM|IN_MOVED_TO|IN_CREATE|IN_DELETE|IN_DELETE_SELF|IN_MOVE_SELF.
inline constexpr uint32_t kKubeletWatchMask = 0xfc6;

struct WatcherEvent {
  int wd = 0;
  uint32_t mask = 0;  // IN_* as read(2) from the inotify fd returned it
};

// A watcher child process: one inotify fd, one watch per path (added in order), every event it
// reads relayed to us over a pipe. The process is owned (killed, reaped) by the ScratchRoot.
class Watcher {
 public:
  Watcher(Watcher&& o) noexcept;
  Watcher& operator=(Watcher&& o) noexcept;
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;
  ~Watcher();

  pid_t pid() const { return pid_; }
  int inotify_fd() const {
    return inotify_fd_;
  }  // fd number in the watcher: /proc/<pid>/fdinfo/<fd>
  const std::vector<std::pair<std::string, int>>& watches() const { return watches_; }  // path, wd
  // Events relayed since the last call; waits up to `wait` for the first one if none is queued.
  std::vector<WatcherEvent> read_events(
      std::chrono::milliseconds wait = std::chrono::milliseconds(0));

 private:
  friend class PodScenario;
  Watcher() = default;
  pid_t pid_ = -1;
  int inotify_fd_ = -1;
  int pipe_fd_ = -1;
  std::string pending_;  // partial record
  std::vector<std::pair<std::string, int>> watches_;
};

class PodScenario {
 public:
  explicit PodScenario(ScratchRoot& root);

  // Mounter tmpfs + bind to kubelet's path + atomic-writer files + configmap dir, then the
  // other-namespace helper its pinning asks for. The same uid again returns the same pod (its
  // pinning must match).
  PodPaths create_pod(const PodSpec& spec = {});

  // A helper process in a mount namespace of its own holding exactly one mount of ours: the
  // pod's volume at `mount_point` (default <root>/other-ns/<uid>/kube-api-access-<5>; give
  // p.volume for the "same directory" control). The volume must still be mounted at p.volume.
  // Returns p with other_ns_pid / other_ns_mount set (also remembered for the uid).
  PodPaths pin_in_other_namespace(const PodPaths& p, const std::string& mount_point = "");

  // Like kubelet: umount kubelet's path; if mounter_unmounts, the mounter umounts its copy and
  // removes its pod dir; rm -rf the pod dir (one filesystem, as kubelet's RemoveAllOneFilesystem).
  // Repeating it is harmless.
  void delete_pod_like_kubelet(const PodPaths& p, bool mounter_unmounts);
  // mounter_unmounts unless p.pinning == MounterSameNamespace.
  void delete_pod(const PodPaths& p) {
    delete_pod_like_kubelet(p, p.pinning != Pinning::MounterSameNamespace);
  }

  std::string pods_root() const;  // <root>/var/lib/kubelet/pods
  std::string mounter_pods_root()
      const;  // <root>/home/kubernetes/containerized_mounter/rootfs/var/lib/kubelet/pods
  std::vector<pid_t> helper_pids() const { return root_.processes(); }  // helpers and watchers
  ScratchRoot& root() const { return root_; }

  // What kubelet watches: the volume root (inode 1 of the tmpfs), its `token` (through the
  // symlinks, the file in the data dir) and the configmap dir.
  static std::vector<std::string> default_watch_paths(const PodPaths& p);

  // The built-in watcher (see Watcher). Throws if any watch cannot be added.
  Watcher start_watcher(const std::vector<std::string>& paths, uint32_t mask = kKubeletWatchMask);
  // An external watcher, e.g. "inotifywait -m -q {}": the template is split on spaces (no
  // quoting), a "{}" word becomes all paths (appended if there is none), stdio is /dev/null.
  // Returns once the watcher sleeps waiting for events (read/poll/select/epoll: its setup is
  // over, it holds no path any more); throws if exec fails or it never gets there (10 s).
  pid_t start_external_watcher(const std::string& command_template,
                               const std::vector<std::string>& paths);

 private:
  pid_t spawn_pinning_helper(const std::string& volume, const std::string& target, int* report,
                             std::vector<std::string>& steps);
  ScratchRoot& root_;
  std::map<std::string, PodPaths> pods_;
};

// Every watch of every inotify fd of a process, from /proc/<pid>/fd and fdinfo.
struct ProcessWatch {
  int fd = -1;
  FdinfoWatch watch;
};
std::vector<ProcessWatch> read_inotify_watches(pid_t pid);
// Polls read_inotify_watches(pid) until it holds at least n watches; returns whether it did.
bool wait_for_watches(pid_t pid, size_t n, std::chrono::milliseconds timeout);

}  // namespace inotrace::repro
