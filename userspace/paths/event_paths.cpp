#include "paths/event_paths.h"

#include <fmt/format.h>
#include <unistd.h>

#include "loader/environment.h"
#include "paths/mount_namespaces.h"

namespace inotrace {

const MountEntry* EventPathCompleter::mount_by_id(uint32_t pid, int32_t mnt_id) {
  uint64_t ns = mount_ns_of(pid, proc_);
  if (!ns) return nullptr;
  auto lookup = [&]() -> const MountEntry* {
    auto it = by_ns_.find(ns);
    if (it == by_ns_.end()) return nullptr;
    for (const auto& m : it->second)
      if (m.mount_id == mnt_id) return &m;
    return nullptr;
  };
  if (const MountEntry* m = lookup()) return m;
  // New namespace or a mount made since the last read: read it (again) once.
  auto text = read_small_file(fmt::format("{}/{}/mountinfo", proc_, pid));
  if (!text) return nullptr;
  by_ns_[ns] = parse_mountinfo(*text).mounts;
  return lookup();
}

void EventPathCompleter::complete(Event& ev) {
  if (ev.path_source == PathSource::Syscall && !ev.path.empty() && ev.path[0] != '/') {
    // The cwd the kernel saw at the call, joined with its mount point...
    if (!ev.cwd_fs_path.empty() && ev.mnt_id > 0)
      if (const MountEntry* m = mount_by_id(ev.task.pid, ev.mnt_id))
        if (auto cwd = join_mount_path(*m, ev.cwd_fs_path)) {
          ev.path = *cwd == "/" ? "/" + ev.path : *cwd + "/" + ev.path;
          return;
        }
    // ...or, failing that, the cwd now.
    char buf[4096];
    for (uint32_t id : {ev.task.tid, ev.task.pid}) {
      ssize_t n = readlink(fmt::format("{}/{}/cwd", proc_, id).c_str(), buf, sizeof(buf));
      if (n > 0) {
        std::string cwd(buf, n);
        ev.path = cwd == "/" ? "/" + ev.path : cwd + "/" + ev.path;
        return;
      }
    }
    ev.path_source = PathSource::SyscallRelative;  // the thread is gone: keep its string
    return;
  }
  if (ev.path_source == PathSource::Dentry && ev.mnt_id > 0) {
    const MountEntry* m = mount_by_id(ev.task.pid, ev.mnt_id);
    if (!m) return;  // mount gone already: the in-filesystem path stays, labelled dentry
    if (auto joined = join_mount_path(*m, ev.path)) {
      ev.path = std::move(*joined);
      ev.path_source = PathSource::Mount;
    }
  }
}

}  // namespace inotrace
