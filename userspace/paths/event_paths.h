// Gives a live event the path its watcher would use: a relative string passed to
// inotify_add_watch gets the caller's cwd; an in-filesystem path from a hooked add gets the
// mount point of the mount (mnt_id) it was resolved through. What cannot be completed is marked
// (paths/marked_paths.h), never shown as if it were a whole absolute path.
#pragma once

#include <absl/container/flat_hash_map.h>

#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "events/event.h"
#include "paths/node_view.h"

namespace inotrace {

class EventPathCompleter {
 public:
  // Mounts are also looked up by id in the node view's tables (of its latest refresh): a watcher may exit, and its namespace go, before its events are read; its mounts
  // are still named by their ids then.
  explicit EventPathCompleter(const NodeView& node) : node_(node), proc_(node.proc()) {}
  void complete(Event& ev);

 private:
  const MountEntry* mount_by_id(uint32_t pid, int32_t mnt_id, KernelDev dev);
  const std::vector<MountEntry>* namespace_of(uint32_t pid, bool reread);
  void remember(const std::vector<MountEntry>& mounts);
  std::optional<std::string> cwd_now(const Event& ev);
  void complete_relative(Event& ev);
  void complete_fs_path(Event& ev);
  void drop_dotdot(Event& ev);

  const NodeView& node_;
  std::string proc_;
  // These caches are emptied when full, not grown: every new mount namespace or chroot a user
  // makes (unshare -m in a loop) would otherwise keep a copy of its mount table for the session.
  static constexpr size_t kMaxViews = 256;
  static constexpr size_t kMaxMountsRemembered = 1u << 20;
  // Tables read here: the node view's did not have the mount yet (newer than its refresh), or the
  // watcher is chrooted. Keyed by (mount namespace, root dev, root ino).
  using ViewKey = std::tuple<uint64_t, uint64_t, uint64_t>;
  absl::flat_hash_map<ViewKey, std::vector<MountEntry>> by_view_;
  // The root of the process each shared table was read from, per (namespace, pid).
  absl::flat_hash_map<std::pair<uint64_t, uint32_t>, std::optional<DevIno>> shared_roots_;
  absl::flat_hash_map<int32_t, MountEntry> by_id_;  // every mount read here, in any namespace
  uint64_t self_read_ns_ = 0;                       // when our own mountinfo was last read
};

}  // namespace inotrace
