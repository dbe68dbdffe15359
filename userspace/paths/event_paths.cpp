#include "paths/event_paths.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "paths/dotdot_walk.h"
#include "paths/inode_at.h"
#include "paths/marked_paths.h"
#include "paths/mount_join.h"
#include "paths/normalize_path.h"
#include "util/unique_fd.h"
#include "util/wall_clock.h"

namespace inotrace {

namespace {

std::string join(const std::string& dir, const std::string& rel) {
  return normalize_path(dir == "/" ? "/" + rel : dir + "/" + rel);
}

}  // namespace

void EventPathCompleter::remember(const std::vector<MountEntry>& mounts) {
  if (by_id_.size() + mounts.size() > kMaxMountsRemembered) by_id_.clear();  // see the header
  for (const auto& m : mounts) by_id_[m.mount_id] = m;
}

// The mount table as pid sees it (its namespace, from its root): the node view's when pid has
// the root of the process that table was read from (a chrooted watcher has not), or one read
// here since; read again when asked (a mount newer than the table).
const std::vector<MountEntry>* EventPathCompleter::namespace_of(uint32_t pid, bool reread) {
  uint64_t ns = node_.mount_ns_of(pid);
  auto root = node_.root_of(pid);
  if (!ns || !root) return nullptr;
  ViewKey key{ns, root->first, root->second};
  auto it = by_view_.find(key);
  const std::vector<MountEntry>* known = it != by_view_.end() ? &it->second : nullptr;
  if (!known)
    if (const NamespaceMounts* shared = node_.mounts().find(ns)) {
      if (shared_roots_.size() >= kMaxViews) shared_roots_.clear();
      auto [r, fresh] = shared_roots_.try_emplace({ns, shared->pid});
      if (fresh) r->second = node_.root_of(shared->pid);
      if (r->second == root) known = &shared->mounts;
    }
  if (known && !reread) return known;
  auto table = node_.mount_table_of(pid);
  if (!table) return known;
  if (by_view_.size() >= kMaxViews && !by_view_.contains(key)) by_view_.clear();  // `known` is not in it
  auto& mounts = by_view_[key] = std::move(*table);
  remember(mounts);
  return &mounts;
}

const MountEntry* EventPathCompleter::mount_by_id(uint32_t pid, int32_t mnt_id, KernelDev dev) {
  auto fits = [&](const MountEntry& m) { return m.mount_id == mnt_id && (!dev.raw || m.dev == dev); };
  auto in = [&](const std::vector<MountEntry>* mounts) -> const MountEntry* {
    if (mounts)
      for (const auto& m : *mounts)
        if (fits(m)) return &m;
    return nullptr;
  };
  // The watcher's own namespace, re-read once if the mount is newer than our copy...
  if (const MountEntry* m = in(namespace_of(pid, false))) return m;
  if (const MountEntry* m = in(namespace_of(pid, true))) return m;
  // ...or, the watcher gone, any mount seen with that id (ids are unique among live mounts,
  // reused only after an unmount: the device must match), re-reading our own namespace at
  // most every 100 ms.
  auto known = by_id_.find(mnt_id);
  if (known != by_id_.end() && fits(known->second)) return &known->second;
  const MountNamespaces& tables = node_.mounts();
  if (dev.raw) {
    for (const MountRef& ref : tables.mounts_of(dev))
      if (fits(*ref.mount)) return ref.mount;
  } else {
    for (const auto& ns : tables.namespaces())
      if (const MountEntry* m = in(&ns.mounts)) return m;
  }
  uint64_t now = WallClock::monotonic_now_ns();
  if (now - self_read_ns_ < 100'000'000) return nullptr;
  self_read_ns_ = now;
  if (auto own = node_.own_mount_table()) remember(*own);
  known = by_id_.find(mnt_id);
  return known != by_id_.end() && fits(known->second) ? &known->second : nullptr;
}

// The thread's cwd now, however long (readlink stops at PATH_MAX: then walk "..").
std::optional<std::string> EventPathCompleter::cwd_now(const Event& ev) {
  char buf[4096];
  for (uint32_t id : {ev.task.tid, ev.task.pid}) {
    std::string link = fmt::format("{}/{}/cwd", proc_, id);
    ssize_t n = readlink(link.c_str(), buf, sizeof(buf));
    if (n > 0 && (size_t)n < sizeof(buf)) return std::string(buf, n);
    if (n < 0 && errno != ENAMETOOLONG) continue;
    UniqueFd cwd(open(link.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    UniqueFd root(open(fmt::format("{}/{}/root", proc_, ev.task.pid).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    struct stat rst;
    if (!cwd || !root || fstat(root.get(), &rst) != 0) continue;
    auto walk = walk_dotdot(cwd.get(), rst.st_dev, rst.st_ino);
    if (walk && walk->reached_stop) return walk->path.empty() ? "/" : walk->path;
  }
  return std::nullopt;
}

void EventPathCompleter::complete_relative(Event& ev) {
  std::string rel = ev.path;
  bool cut = ev.flags & INOTRACE_F_PATH_TRUNCATED;  // the cwd was deeper than the kernel's walk
  // The cwd the kernel saw at the call, joined with its mount point...
  if (!cut && !ev.cwd_fs_path.empty() && ev.mnt_id > 0)
    if (const MountEntry* m = mount_by_id(ev.task.pid, ev.mnt_id, KernelDev{}))
      if (auto cwd = join_mount_path(*m, ev.cwd_fs_path)) {
        ev.path = join(*cwd, rel);
        return;
      }
  // ...or, failing that, the cwd now (when the kernel saw only its tail: if it still ends so).
  if (auto cwd = cwd_now(ev)) {
    if (!cut || cwd->ends_with(ev.cwd_fs_path)) {
      ev.path = join(*cwd, rel);
      ev.flags &= ~INOTRACE_F_PATH_TRUNCATED;
      return;
    }
  }
  if (cut) {
    ev.path = truncated_path(join(ev.cwd_fs_path, rel));
    return;
  }
  ev.path = normalize_path(rel);
  ev.path_source = PathSource::SyscallRelative;  // the thread is gone: keep its string
}

void EventPathCompleter::complete_fs_path(Event& ev) {
  if (ev.flags & INOTRACE_F_PATH_TRUNCATED) {
    ev.path = truncated_path(ev.path);  // a tail: even its mount point would be a lie
    return;
  }
  if (ev.path_source == PathSource::Dentry && ev.mnt_id > 0) {
    if (const MountEntry* m = mount_by_id(ev.task.pid, ev.mnt_id, ev.dev))
      if (auto joined = join_mount_path(*m, ev.path)) {
        ev.path = std::move(*joined);
        ev.path_source = PathSource::Mount;
        return;
      }
  } else if (ev.dev.raw) {
    // No mount id (removals the table could not name): a mount of the filesystem in the
    // watcher's namespace, the most specific one (as snapshots choose).
    std::vector<const MountEntry*> of_dev;
    if (const auto* mounts = namespace_of(ev.task.pid, false))
      for (const auto& m : *mounts)
        if (m.dev == ev.dev) of_dev.push_back(&m);
    if (auto best = best_mount_path(of_dev, ev.path)) {
      ev.path = std::move(best->second);
      ev.path_source = PathSource::Mount;
      return;
    }
  }
  ev.path = fs_relative_path(ev.dev, ev.path);  // the mount is unknown: say which filesystem
}

// "/a/b/../c" as "/a/c" when that leads, inside the watcher's root, to the watched inode (it
// does not when b is a symlink: then the caller's spelling stays).
void EventPathCompleter::drop_dotdot(Event& ev) {
  if (!ev.dev.raw || (ev.type != EventType::Add && ev.type != EventType::Update) || !has_dotdot(ev.path)) return;
  std::string guess = drop_dotdot_lexically(ev.path);
  UniqueFd root(open(fmt::format("{}/{}/root", proc_, ev.task.pid).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return;
  struct open_how how = {};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  auto leads_to_target = [&](const std::string& p) {
    UniqueFd fd((int)syscall(SYS_openat2, root.get(), p.c_str(), &how, sizeof(how)));
    struct stat st;
    bool same = fd && fstat(fd.get(), &st) == 0 && is_inode(st, ev.dev, ev.ino);
    return same ? std::move(fd) : UniqueFd();
  };
  if (leads_to_target(guess)) {
    ev.path = std::move(guess);
    return;
  }
  // A symlink on the way: where the watcher shares our root and mount namespace, the kernel's
  // name for what the caller's spelling opens is the path.
  struct stat ours, theirs;
  if (stat("/", &ours) != 0 || fstat(root.get(), &theirs) != 0 || ours.st_dev != theirs.st_dev ||
      ours.st_ino != theirs.st_ino || node_.mount_ns_of(ev.task.pid) != mount_ns_of(getpid(), "/proc"))
    return;
  UniqueFd fd = leads_to_target(ev.path);
  char buf[4096];
  ssize_t n = fd ? readlink(fmt::format("/proc/self/fd/{}", fd.get()).c_str(), buf, sizeof(buf)) : -1;
  if (n > 0 && (size_t)n < sizeof(buf) && buf[0] == '/') ev.path.assign(buf, n);
}

void EventPathCompleter::complete(Event& ev) {
  if (ev.path.empty()) return;
  if (ev.path_source == PathSource::Syscall) {
    // An absolute string is whole (the kernel refuses longer ones): only its spelling changes.
    if (ev.path[0] == '/') {
      if (!is_normal_path(ev.path)) ev.path = normalize_path(ev.path);
    }
    else complete_relative(ev);
    if (ev.path_source == PathSource::Syscall && ev.path[0] == '/') drop_dotdot(ev);
    return;
  }
  if (ev.path_source == PathSource::Dentry || ev.path_source == PathSource::Kernfs) complete_fs_path(ev);
}

}  // namespace inotrace
