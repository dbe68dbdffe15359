// Why a watch vanished when no hook saw it go (tracepoint backend, or after drops): deduced
// from what is left, in this order —
//   its filesystem is mounted nowhere any more           -> unmount
//   its path no longer leads to the watched inode        -> inode_deleted
//   it was a one-shot watch                              -> oneshot
//   otherwise                                            -> unknown
// (A whole instance gone is instance_closed; WatchTable decides that before asking.)
// Unmount is tested before the path, because an unmounted target's path is gone too.
//
// Each answer also says what else the evidence allows (the reconcile interval hides the order
// of what happened in it): a one-shot mark may have fired at any time; an unmounted target may
// have been deleted first; a watch of a closed instance may have gone before the close, if its
// target is deleted or unmounted now.
#pragma once

#include "paths/node_view.h"
#include "table/watch_table.h"

namespace inotrace {

class DeducingRemovalClassifier : public RemovalClassifier {
 public:
  // Mounts are the node view's now; `previous`: the mounts at the snapshot before (may be null).
  // Anonymous device numbers (tmpfs) are reused as soon as a filesystem goes: a device whose
  // mounts are all new since then is another filesystem, and the old one was unmounted.
  explicit DeducingRemovalClassifier(const NodeView& node, const MountNamespaces* previous = nullptr)
      : node_(node), tables_(node.mount_tables()), mounts_(*tables_), previous_(previous) {}
  Reason classify(const InstanceEntry& inst, int32_t wd, const WatchEntry& w, const std::string& path) override;
  ReasonSet also_possible(const InstanceEntry& inst, const WatchEntry& w, const std::string& path, Reason chosen,
                          bool instance_gone) override;
  // The likeliest reason for an add whose watch was gone before the add returned (its target
  // was never read): inode_deleted when its path no longer exists for the adder.
  Reason classify_vanished_add(const Event& add) const;

 private:
  bool target_gone(const InstanceEntry& inst, const WatchEntry& w, const std::string& path) const;
  bool path_exists(uint32_t pid, const std::string& path) const;
  bool filesystem_gone(KernelDev dev) const;
  const NodeView& node_;
  std::shared_ptr<const MountNamespaces> tables_;  // kept alive across a refresh of the node view
  const MountNamespaces& mounts_;
  const MountNamespaces* previous_;
};

}  // namespace inotrace
