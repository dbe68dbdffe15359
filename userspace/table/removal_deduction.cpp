#include "table/removal_deduction.h"

#include <fmt/format.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include <cerrno>

namespace inotrace {

bool DeducingRemovalClassifier::target_gone(const InstanceEntry& inst, const WatchEntry& w,
                                            const std::string& path) const {
  // Look through the watchers' own roots, so their mount namespace decides what the path means;
  // a holder that is gone cannot answer: the next way in is asked, our own view last.
  const KernelDev dev{w.dev};
  for (const auto& h : inst.holders) {
    InodeAt at = node_.inode_at(h.pid, path, dev, w.ino());
    if (at == InodeAt::Same) return false;
    if (at == InodeAt::Other) return true;
    if (at == InodeAt::Gone && node_.process_visible(h.pid)) return true;
  }
  InodeAt own = node_.inode_here(path, dev, w.ino());
  return own == InodeAt::Other || own == InodeAt::Gone;
}

bool DeducingRemovalClassifier::filesystem_gone(KernelDev dev) const {
  auto now = mounts_.mounts_of(dev);
  if (now.empty()) return true;
  if (!previous_) return false;
  auto before = previous_->mounts_of(dev);
  if (before.empty()) return false;  // mounted since: cannot tell, assume the same
  for (const auto& n : now)
    for (const auto& b : before)
      if (n.mount->mount_id == b.mount->mount_id) return false;  // a mount survived
  return true;
}

Reason DeducingRemovalClassifier::classify(const InstanceEntry& inst, int32_t, const WatchEntry& w,
                                           const std::string& path) {
  if (filesystem_gone(KernelDev{w.dev})) return Reason::Unmount;
  if (!path.empty() && path.front() == '/' && target_gone(inst, w, path)) return Reason::InodeDeleted;
  if (w.mask & IN_ONESHOT) return Reason::Oneshot;
  return Reason::Unknown;
}

ReasonSet DeducingRemovalClassifier::also_possible(const InstanceEntry& inst, const WatchEntry& w,
                                                  const std::string& path, Reason chosen, bool instance_gone) {
  ReasonSet s = 0;
  if (w.mask & IN_ONESHOT) s |= reason_bit(Reason::Oneshot);
  if (instance_gone) {
    if (filesystem_gone(KernelDev{w.dev})) s |= reason_bit(Reason::Unmount) | reason_bit(Reason::InodeDeleted);
    else if (!path.empty() && path.front() == '/' && target_gone(inst, w, path)) s |= reason_bit(Reason::InodeDeleted);
  } else if (chosen == Reason::Unmount) {
    s |= reason_bit(Reason::InodeDeleted);  // the path went with the filesystem: was it deleted first?
  }
  return s & ~reason_bit(chosen);
}

bool DeducingRemovalClassifier::path_exists(uint32_t pid, const std::string& path) const {
  // Any inode will do (the add's target was never read): only Gone says the path is not there.
  InodeAt at = pid && node_.process_visible(pid) ? node_.inode_at(pid, path, KernelDev{}, 0)
                                                 : node_.inode_here(path, KernelDev{}, 0);  // the adder is gone
  return at != InodeAt::Gone && at != InodeAt::Unknown;
}

Reason DeducingRemovalClassifier::classify_vanished_add(const Event& add) const {
  if (!add.path.empty() && add.path.front() == '/' && !path_exists(add.task.pid, add.path)) return Reason::InodeDeleted;
  return Reason::Unknown;
}

}  // namespace inotrace
