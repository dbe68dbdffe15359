// Why a watch vanished when no hook saw it go (tracepoint backend, or after drops): deduced
// from what is left, in this order —
//   its filesystem is mounted nowhere any more           -> unmount
//   its path no longer leads to the watched inode        -> inode_deleted
//   it was a one-shot watch                              -> oneshot
//   otherwise                                            -> unknown
// (A whole instance gone is instance_closed; WatchTable decides that before asking.)
// Unmount is tested before the path, because an unmounted target's path is gone too.
#pragma once

#include "paths/mount_namespaces.h"
#include "table/watch_table.h"

namespace inotrace {

class DeducingRemovalClassifier : public RemovalClassifier {
 public:
  DeducingRemovalClassifier(const MountNamespaces& mounts, std::string proc = "/proc")
      : mounts_(mounts), proc_(std::move(proc)) {}
  Reason classify(const InstanceEntry& inst, int32_t wd, const WatchEntry& w, const std::string& path) override;

 private:
  bool target_gone(const InstanceEntry& inst, const WatchEntry& w, const std::string& path) const;
  const MountNamespaces& mounts_;
  std::string proc_;
};

}  // namespace inotrace
