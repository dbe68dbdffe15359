// From a watch's file handle (as /proc/PID/fdinfo prints it) to the path a process sees:
// open_by_handle_at on a mount of the watch's filesystem, reached through /proc/PID/root (so
// mounts that exist only in another mount namespace work too), then readlink of
// /proc/self/fd/N. One resolver per snapshot (and thread): it caches the mount fds and closes
// them.
//
// What readlink gives (checked on 6.18): the path from the ROOT OF THE MOUNT NAMESPACE the
// opened mount belongs to, not from our root, with no "/proc/PID/root" in it. E.g. a tmpfs
// mounted at /tmp/x only inside another namespace reads "/tmp/x/d"; if the watcher is also
// chrooted to /srv/c, "/srv/c/tmp/x/d" (its mountinfo says "/tmp/x"). A file outside the
// mount's root (a bind mount of a subtree) and a disconnected dentry both read "/". An
// unlinked file ends in " (deleted)". So the resolver does not trust the prefix: it strips the
// mount fd's own readlink (same coordinates) and joins the rest with the mount point from
// mountinfo, which is relative to the viewing process's root: the path as the watcher sees it.
#pragma once

#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "events/event.h"
#include "paths/mountinfo.h"
#include "paths/file_handle.h"

namespace inotrace {

// Handle type the kernel (6.6+) encodes for filesystems without export operations: never
// decodable (procfs, sysfs, ramfs, ...).
inline constexpr uint32_t kFileIdIno64GenNoDecode = 0x81;

struct HandlePath {
  std::string path;  // "" when it could not be resolved (note says why)
  std::string note;  // failure reason, or a qualifier of a found path ("unlinked")
};

// The path of a kernfs node (a cgroup2 directory) by its id, below the mount at `mount_fd` (an
// fd of the hierarchy's root): kernfs takes the id itself as a file handle. nullopt if no node
// has that id (a removed cgroup), or without CAP_DAC_READ_SEARCH.
std::optional<std::string> kernfs_path_by_id(int mount_fd, uint64_t id);

class FileHandlePathResolver {
 public:
  static constexpr size_t kMaxMountsTried = 64;  // mounts of one filesystem tried per watch

  // `proc`: the procfs root used for /proc/PID/root (our own fds are always read through the
  // real /proc/self/fd).
  // `sharers`: how many resolvers work at once (threads), who share the fd budget.
  explicit FileHandlePathResolver(std::string proc = "/proc", unsigned sharers = 1);
  ~FileHandlePathResolver();  // closes every cached fd
  FileHandlePathResolver(const FileHandlePathResolver&) = delete;
  FileHandlePathResolver& operator=(const FileHandlePathResolver&) = delete;

  // Resolves the inode (dev, ino) with handle `fh`. `mounts` are mounts of `dev` whose mount
  // points are relative to the root of `pid` (read from a mountinfo of a process with that
  // root); `view` names that (namespace, root) for the mount fd cache. Never throws. Not
  // thread-safe: one resolver per thread.
  HandlePath resolve(uint64_t view, uint32_t pid, std::span<const MountEntry* const> mounts,
                     KernelDev dev, uint64_t ino, const FileHandle& fh);

 private:
  struct MountFd {
    int fd = -1;
    int err = 0;         // errno of the open; ENXIO: it leads to another mount (one on top);
                         // ENOTSUP: the mount's root is neither a directory nor a regular file
    std::string prefix;  // readlink of the fd: the mount point in the readlink coordinates
    uint64_t root_ino = 0;
  };
  enum class Outcome { Found, NotUnder, Failed };

  const MountFd& mount_fd(uint64_t view, uint32_t pid, const MountEntry& m, KernelDev dev);
  Outcome try_mount(const MountFd& mfd, const MountEntry& m, uint64_t ino, const FileHandle& fh,
                    HandlePath& out);
  Outcome walk_long(int fd, const MountFd& mfd, const MountEntry& m, HandlePath& out);
  bool readlink_fd(int fd, std::string& out);

  std::string proc_;
  int self_fd_dir_ = -1;  // /proc/self/fd, for readlinkat
  absl::flat_hash_map<std::pair<uint64_t, int>, MountFd> mount_fds_;  // (view, mount id)
  size_t open_mount_fds_ = 0;   // fds held in mount_fds_
  size_t mount_fd_budget_ = 0;  // past it, mount_fds_ is emptied (fds closed) and refilled
  std::vector<char> handle_buf_;
  std::string link_buf_;  // readlinkat buffer
  std::string link_;      // the last link read for a handle
};

}  // namespace inotrace
