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
  // `previous`: the mounts at the snapshot before (may be null). Anonymous device numbers
  // (tmpfs) are reused as soon as a filesystem goes: a device whose mounts are all new since
  // then is another filesystem, and the old one was unmounted.
  DeducingRemovalClassifier(const MountNamespaces& mounts, const MountNamespaces* previous = nullptr,
                            std::string proc = "/proc")
      : mounts_(mounts), previous_(previous), proc_(std::move(proc)) {}
  Reason classify(const InstanceEntry& inst, int32_t wd, const WatchEntry& w, const std::string& path) override;

 private:
  bool target_gone(const InstanceEntry& inst, const WatchEntry& w, const std::string& path) const;
  bool filesystem_gone(KernelDev dev) const;
  const MountNamespaces& mounts_;
  const MountNamespaces* previous_;
  std::string proc_;
};

}  // namespace inotrace
