// Gives a live event the path its watcher would use: a relative string passed to
// inotify_add_watch gets the caller's cwd; an in-filesystem path from a hooked add gets the
// mount point of the mount (mnt_id) it was resolved through. What cannot be completed is marked
// (paths/marked_paths.h), never shown as if it were a whole absolute path.
#pragma once

#include <absl/container/flat_hash_map.h>

#include <optional>
#include <string>
#include <vector>

#include "events/event.h"
#include "paths/mount_namespaces.h"
#include "paths/mountinfo.h"

namespace inotrace {

class EventPathCompleter {
 public:
  explicit EventPathCompleter(std::string proc = "/proc") : proc_(std::move(proc)) {}
  void complete(Event& ev);
  // Looks mounts up by id in these tables too (not copied: they must outlive the completer, as
  // a session's snapshot taker's do): a watcher may exit, and its namespace go, before its
  // events are read; its mounts are still named by their ids then.
  void learn(const MountNamespaces& mounts) { tables_ = &mounts; }

 private:
  const MountEntry* mount_by_id(uint32_t pid, int32_t mnt_id, KernelDev dev);
  const std::vector<MountEntry>* namespace_of(uint32_t pid, bool reread);
  void remember(const std::vector<MountEntry>& mounts);
  std::optional<std::string> cwd_now(const Event& ev);
  void complete_relative(Event& ev);
  void complete_fs_path(Event& ev);
  void drop_dotdot(Event& ev);

  std::string proc_;
  absl::flat_hash_map<uint64_t, std::vector<MountEntry>> by_ns_;  // mount namespace -> mounts
  absl::flat_hash_map<int32_t, MountEntry> by_id_;  // every mount read here, in any namespace
  const MountNamespaces* tables_ = nullptr;         // the latest snapshot's (learn)
  uint64_t self_read_ns_ = 0;                       // when /proc/self/mountinfo was last read
};

}  // namespace inotrace
