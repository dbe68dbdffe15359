#include "paths/file_handle_path.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/openat2.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "paths/dotdot_walk.h"
#include "paths/mount_join.h"
#include "paths/unnamed_reasons.h"
#include "util/small_file.h"
#include "util/unique_fd.h"

namespace inotrace {
namespace {

constexpr std::string_view kDeleted = " (deleted)";

bool strip_deleted(std::string& s) {
  if (!s.ends_with(kDeleted)) return false;
  s.resize(s.size() - kDeleted.size());
  if (s.empty()) s.push_back('/');  // (not = "/": GCC 12 -O3 -Wrestrict false positive)
  return true;
}

// Opens `mount_point` as the process `pid` sees it, from its root, without following a symlink:
// mountinfo's mount points never hold one, so one on the way was planted after it was read (and
// from our root, an absolute one would lead into our own tree). O_PATH, because a mount's root
// may be a file (bind-mounted /etc/resolv.conf) or a device node, which must not be opened for
// real. openat2 (5.6+); where it is missing or seccomp refuses it, one component at a time.
UniqueFd open_mount_point(const std::string& proc, uint32_t pid, const std::string& mount_point) {
  UniqueFd root_fd(open(fmt::format("{}/{}/root", proc, pid).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd || mount_point == "/") return root_fd;
  struct open_how how = {};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS;
  UniqueFd fd(static_cast<int>(syscall(SYS_openat2, root_fd.get(), mount_point.c_str(), &how, sizeof(how))));
  if (fd || (errno != ENOSYS && errno != EPERM && errno != E2BIG)) return fd;
  UniqueFd cur = std::move(root_fd);
  for (size_t at = 0; at < mount_point.size();) {
    size_t end = std::min(mount_point.find('/', at), mount_point.size());
    const std::string name = mount_point.substr(at, end - at);
    at = end + 1;
    if (name.empty() || name == ".") continue;
    if (name == "..") {
      errno = EXDEV;
      return {};
    }
    cur = UniqueFd(openat(cur.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!cur) return {};
    struct stat st;
    if (fstat(cur.get(), &st) != 0 || S_ISLNK(st.st_mode)) {
      errno = ELOOP;
      return {};
    }
  }
  return cur;
}

// The id of the mount `fd` lies on: statx STATX_MNT_ID (5.8+), else the mnt_id line of
// /proc/self/fdinfo (3.15+); nullopt where neither says.
std::optional<uint64_t> mount_id_of(int fd) {
  struct statx sx = {};
  if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) == 0 && (sx.stx_mask & STATX_MNT_ID)) return sx.stx_mnt_id;
  std::optional<std::string> read = read_small_file(fmt::format("/proc/self/fdinfo/{}", fd));
  if (!read) return std::nullopt;
  const std::string& info = *read;
  size_t at = info.find("\nmnt_id:");
  if (at == std::string::npos) return std::nullopt;
  at += 8;
  while (at < info.size() && (info[at] == ' ' || info[at] == '\t')) at++;
  uint64_t id = 0;
  auto [end, ec] = std::from_chars(info.data() + at, info.data() + info.size(), id);
  if (ec != std::errc() || end == info.data() + at) return std::nullopt;
  return id;
}

// How many mount fds one resolver keeps open: an eighth of the fd limit shared by the resolvers
// working at once, so that a namespace with thousands of mounts (a hostile user can make them)
// cannot take every fd the tracer has.
size_t mount_fd_budget(unsigned sharers) {
  struct rlimit rl = {};
  rlim_t soft = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : 1024;
  return std::clamp<size_t>((soft == RLIM_INFINITY ? 32768 : soft / 8) / std::max(1u, sharers), 8, 4096);
}

}  // namespace

FileHandlePathResolver::FileHandlePathResolver(std::string proc, unsigned sharers)
    : proc_(std::move(proc)), mount_fd_budget_(mount_fd_budget(sharers)) {
  self_fd_dir_ = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
  link_buf_.resize(4096);
}

FileHandlePathResolver::~FileHandlePathResolver() {
  for (auto& [key, m] : mount_fds_)
    if (m.fd >= 0) close(m.fd);
  if (self_fd_dir_ >= 0) close(self_fd_dir_);
}

bool FileHandlePathResolver::readlink_fd(int fd, std::string& out) {
  char name[16];
  auto [end, ec] = std::to_chars(name, name + sizeof(name) - 1, fd);
  *end = '\0';
  std::string fallback;
  int dir = self_fd_dir_;
  const char* rel = name;
  if (dir < 0) {
    fallback = fmt::format("/proc/self/fd/{}", fd);
    dir = AT_FDCWD;
    rel = fallback.c_str();
  }
  while (true) {
    ssize_t n = readlinkat(dir, rel, link_buf_.data(), link_buf_.size());
    if (n < 0) return false;
    if (static_cast<size_t>(n) < link_buf_.size()) {
      out.assign(link_buf_.data(), n);
      return true;
    }
    link_buf_.resize(link_buf_.size() * 2);  // possibly truncated: retry bigger
  }
}

const FileHandlePathResolver::MountFd& FileHandlePathResolver::mount_fd(uint64_t view, uint32_t pid,
                                                                      const MountEntry& m, KernelDev dev) {
  const std::pair<uint64_t, int> key{view, m.mount_id};
  if (open_mount_fds_ >= mount_fd_budget_ && !mount_fds_.contains(key)) {  // forget them all: reopening is only slower
    for (auto& [k, cached] : mount_fds_)
      if (cached.fd >= 0) close(cached.fd);
    mount_fds_.clear();
    open_mount_fds_ = 0;
  }
  // (The reference returned is used before the next call: try_emplace may move every entry.)
  auto [it, inserted] = mount_fds_.try_emplace(key);
  MountFd& mfd = it->second;
  if (!inserted) return mfd;
  // /proc/PID/root jumps to that process's root in its own mount namespace, and the walk below
  // it follows that namespace's mounts.
  UniqueFd path_fd = open_mount_point(proc_, pid, m.mount_point);
  if (!path_fd) {
    mfd.err = errno;
    return mfd;
  }
  const int pfd = path_fd.get();
  struct stat st;
  const std::optional<uint64_t> mnt_id = mount_id_of(pfd);
  if (fstat(pfd, &st) != 0 || KernelDev::from_st_dev(st.st_dev) != dev ||
      (mnt_id && *mnt_id != static_cast<uint64_t>(m.mount_id))) {
    // Another mount is over this mount point (or over a directory on the way to it), or the
    // path was moved since mountinfo was read: what it leads to is not this mount's root.
    mfd.err = ENXIO;
  } else if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
    mfd.err = ENOTSUP;
  } else if (!readlink_fd(pfd, mfd.prefix)) {
    mfd.err = errno;
  } else {
    // open_by_handle_at takes its mount fd with fdget(), which refuses O_PATH files (EBADF,
    // checked on 6.18): reopen it for reading through the /proc/self/fd magic link.
    char name[16];
    *std::to_chars(name, name + sizeof(name) - 1, pfd).ptr = '\0';
    std::string full = fmt::format("/proc/self/fd/{}", pfd);
    mfd.fd = self_fd_dir_ >= 0 ? openat(self_fd_dir_, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
                               : open(full.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (mfd.fd < 0) mfd.err = errno;
    else open_mount_fds_++;
    strip_deleted(mfd.prefix);
    mfd.root_ino = st.st_ino;
  }
  return mfd;
}

namespace {

// `link` (an opened handle's path) and the mount's `prefix` are both relative to the root of the
// mount's namespace: what follows the prefix is the path below the mount's root ("" for the
// root itself); nullopt if the link is not below it.
std::optional<std::string_view> below_mount(std::string_view l, std::string_view p, uint64_t ino, uint64_t root_ino) {
  std::optional<std::string_view> rel;
  if (p == "/") {
    if (l.starts_with('/')) rel = l == "/" ? std::string_view{} : l;
  } else if (l == p) {
    rel = std::string_view{};
  } else if (l.size() > p.size() && l.starts_with(p) && l[p.size()] == '/') {
    rel = l.substr(p.size());
  }
  // d_path gives just "/" for a dentry outside the mount's root (bind mount of a subtree) and for
  // a disconnected one: only the mount's root itself may legitimately read as the prefix.
  if (rel && rel->empty() && ino != root_ino) rel.reset();
  return rel;
}

}  // namespace

FileHandlePathResolver::Outcome FileHandlePathResolver::try_mount(const MountFd& mfd, const MountEntry& m,
                                                                  uint64_t ino, const FileHandle& fh,
                                                                  HandlePath& out) {
  handle_buf_.assign(sizeof(file_handle) + fh.bytes.size(), 0);
  auto* h = reinterpret_cast<file_handle*>(handle_buf_.data());
  h->handle_bytes = static_cast<unsigned>(fh.bytes.size());
  h->handle_type = static_cast<int>(fh.type);
  std::memcpy(h->f_handle, fh.bytes.data(), fh.bytes.size());
  UniqueFd opened(open_by_handle_at(mfd.fd, h, O_PATH | O_CLOEXEC));
  if (!opened) {
    int e = errno;
    if (e == ESTALE || e == EOPNOTSUPP) out.note = std::string(unnamed::kNoDecodableHandle);
    else if (e == EPERM) out.note = "open_by_handle_at not permitted (needs CAP_DAC_READ_SEARCH)";
    else out.note = fmt::format("open_by_handle_at failed: {}", strerror(e));
    return Outcome::Failed;
  }
  std::string& link = link_;
  if (!readlink_fd(opened.get(), link)) {
    int e = errno;
    if (e == ENAMETOOLONG) return walk_long(opened.release(), mfd, m, out);
    out.note = fmt::format("readlink of the opened handle failed: {}", strerror(e));
    return Outcome::Failed;
  }
  bool unlinked = strip_deleted(link);

  std::optional<std::string_view> rel = below_mount(link, mfd.prefix, ino, mfd.root_ino);
  if (!rel) {
    struct stat st;
    bool dir = fstat(opened.get(), &st) == 0 && S_ISDIR(st.st_mode);
    // Directories are always reconnected by the kernel: one outside this mount's subtree may be
    // inside another mount of the same filesystem. A non-directory reading "/" through a
    // whole-filesystem mount is disconnected (its dentry was reclaimed and rebuilt from the inode
    // alone); through a bind mount of a subtree it may also just be outside it.
    if (!dir && m.root == "/") {
      out.note = "disconnected";
      return Outcome::Failed;
    }
    out.note = dir ? std::string(unnamed::kOutsideEveryMountedSubtree)
                   : "disconnected, or outside every mounted subtree of its filesystem";
    return Outcome::NotUnder;
  }
  out.path = join_mount_point(m, *rel);
  out.note = unlinked ? "unlinked" : "";
  return Outcome::Found;
}

// Longer than PATH_MAX, where readlink gives up: a directory is named by walking ".." up to
// this mount's root; a file cannot be walked up from (closes fd).
FileHandlePathResolver::Outcome FileHandlePathResolver::walk_long(int fd, const MountFd& mfd, const MountEntry& m,
                                                                  HandlePath& out) {
  UniqueFd target(fd);
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode)) {
    out.note = "longer than PATH_MAX (a file: only directories can be walked up to their mount)";
    return Outcome::Failed;
  }
  auto walk = walk_dotdot(fd, st.st_dev, mfd.root_ino);
  if (!walk) {
    out.note = "longer than PATH_MAX, and walking \"..\" up from it failed";
    return Outcome::Failed;
  }
  if (!walk->reached_stop) {
    out.note = unnamed::kOutsideEveryMountedSubtree;
    return Outcome::NotUnder;
  }
  out.path = join_mount_point(m, walk->path);
  out.note = "";
  return Outcome::Found;
}

HandlePath FileHandlePathResolver::resolve(uint64_t view, uint32_t pid, std::span<const MountEntry* const> mounts,
                                           KernelDev dev, uint64_t ino, const FileHandle& fh) {
  HandlePath out;
  if (fh.type == kFileIdIno64GenNoDecode) {
    out.note = std::string(unnamed::kNoDecodableHandle);
    return out;
  }
  if (mounts.empty()) {
    out.note = unnamed::not_mounted();
    return out;
  }
  // Whole-filesystem mounts first (every inode is below their root), then bind mounts of
  // subtrees; each group in mountinfo order (oldest first), so the choice is deterministic.
  // At most kMaxMountsTried of them per watch: a user can bind-mount one subtree of their own
  // tmpfs thousands of times, and every watch outside them would try each.
  int open_err = 0;
  const MountEntry* failed_mount = nullptr;
  bool tried = false, done = false;
  size_t attempts = 0;
  for (bool whole : {true, false}) {
    for (const MountEntry* m : mounts) {
      if ((m->root == "/") != whole) continue;
      if (attempts++ == kMaxMountsTried) {
        out.path.clear();
        out.note = fmt::format("not resolved: {} has {} mounts in this view, the first {} were tried", dev.str(),
                               mounts.size(), kMaxMountsTried);
        return out;
      }
      const MountFd& mfd = mount_fd(view, pid, *m, dev);
      if (mfd.fd < 0) {
        open_err = mfd.err;
        failed_mount = m;
        continue;
      }
      tried = true;
      if ((done = try_mount(mfd, *m, ino, fh, out) != Outcome::NotUnder)) break;
    }
    if (done) break;
  }
  if (!tried) {
    out.path.clear();
    out.note = open_err == ENXIO     ? fmt::format("cannot open a mount of {}: {} is covered by another mount, or leads elsewhere",
                                                   dev.str(), failed_mount->mount_point)
               : open_err == ENOTSUP ? fmt::format("cannot open a mount of {}: the root of {} is a special file",
                                                   dev.str(), failed_mount->mount_point)
                                     : fmt::format("cannot open a mount of {} ({}): {}", dev.str(),
                                                   failed_mount->mount_point, strerror(open_err));
  }
  return out;
}

std::optional<std::string> kernfs_path_by_id(int mount_fd, uint64_t id) {
  constexpr int kFileIdKernfs = 0xfe;  // include/linux/exportfs.h: FILEID_KERNFS, a u64 id (5.5+)
  alignas(file_handle) char buf[sizeof(file_handle) + sizeof(id)];
  auto* h = reinterpret_cast<file_handle*>(buf);
  h->handle_bytes = sizeof(id);
  h->handle_type = kFileIdKernfs;
  std::memcpy(h->f_handle, &id, sizeof(id));
  UniqueFd opened(open_by_handle_at(mount_fd, h, O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!opened) return std::nullopt;
  // Both links read in the same (our namespace's) coordinates: the node's path is the part below the mount's.
  auto link = [](int fd) -> std::optional<std::string> {
    char out[4096];
    ssize_t n = readlink(fmt::format("/proc/self/fd/{}", fd).c_str(), out, sizeof(out));
    if (n <= 0 || n == (ssize_t)sizeof(out)) return std::nullopt;
    return std::string(out, n);
  };
  auto node = link(opened.get()), mount = link(mount_fd);
  if (!node || !mount) return std::nullopt;
  if (*mount == "/") return node;
  if (*node == *mount) return "/";
  if (!node->starts_with(*mount + "/")) return std::nullopt;
  return node->substr(mount->size());
}

}  // namespace inotrace
