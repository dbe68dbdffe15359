// The mounts as each (mount namespace, root) sees them, for one pass over a snapshot: a
// process's mount points are relative to its root, so a chrooted watcher has a view of its own
// (its own mountinfo), everyone else shares their namespace's table. Answers the two questions
// every resolver asks: which mounts of a filesystem a watcher sees (else whose view to use
// instead, and the note that says so), and what an in-filesystem path is called there.
#pragma once

#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "paths/node_view.h"

namespace inotrace {

struct MountView {
  uint64_t key = 0;   // names the view (the file-handle resolver caches mount fds per view)
  uint32_t pid = 0;   // a process with this namespace and root: /proc/PID/root reaches the mounts
  const NamespaceMounts* ns = nullptr;
  std::vector<MountEntry> own;  // a chrooted process's own table; else ns->mounts is the table
  bool chrooted = false;
};

// Where a target of one filesystem is resolved for a watcher.
struct MountChoice {
  const MountView* view = nullptr;                         // nullptr: mounted in no namespace
  const std::vector<const MountEntry*>* mounts = nullptr;  // that view's mounts of the filesystem
  std::string where;  // "" in the watcher's own view; else why another view is used
};

struct JoinedPath {
  std::string path;
  std::string where;  // as MountChoice::where
};

class MountViews {
 public:
  // Answers from the node view's tables of now, kept alive even if it refreshes meanwhile.
  explicit MountViews(const NodeView& node) : node_(node), tables_(node.mount_tables()) {}
  MountViews(const MountViews&) = delete;
  MountViews& operator=(const MountViews&) = delete;

  // The view of a process (`mnt_ns` if known, else looked up); nullptr if its namespace is unknown.
  const MountView* of_process(uint32_t pid, uint64_t mnt_ns = 0);
  const std::vector<const MountEntry*>& mounts(const MountView& v, KernelDev dev);
  // The watcher's own view if the filesystem is mounted there; else a namespace where it is.
  MountChoice choose(const MountView* own, KernelDev dev);
  // The dentry + mount join of an in-filesystem path, in the watcher's view if it can be named
  // there, else in the best mount of any namespace; nullopt (with `why`) if in none.
  std::optional<JoinedPath> join(const MountView* own, KernelDev dev, std::string_view fs_path, std::string& why);

 private:
  struct NsEntry {
    MountView view;
    std::optional<DevIno> root;
  };
  NsEntry& of_namespace(const NamespaceMounts* ns);
  std::string elsewhere(const MountView* own, const NamespaceMounts* ns) const;

  const NodeView& node_;
  std::shared_ptr<const MountNamespaces> tables_;
  uint64_t next_key_ = 1;
  // Node-based maps: views and mount lists are pointed to by callers.
  std::unordered_map<const NamespaceMounts*, NsEntry> ns_views_;
  absl::flat_hash_map<uint32_t, const MountView*> by_pid_;
  std::vector<std::unique_ptr<MountView>> own_views_;
  std::unordered_map<uint64_t, std::vector<const MountEntry*>> mounts_;  // (view key, dev)
};

}  // namespace inotrace
