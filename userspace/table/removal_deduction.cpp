#include "table/removal_deduction.h"

#include <fmt/format.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include <cerrno>

namespace inotrace {

bool DeducingRemovalClassifier::target_gone(const InstanceEntry& inst, const WatchEntry& w,
                                            const std::string& path) const {
  // Look through the watcher's own root, so its mount namespace decides what the path means.
  std::vector<std::string> candidates;
  for (const auto& h : inst.holders) candidates.push_back(fmt::format("{}/{}/root{}", proc_, h.pid, path));
  candidates.push_back(path);
  for (const auto& p : candidates) {
    struct stat st;
    if (stat(p.c_str(), &st) == 0)
      return st.st_ino != w.ino() || KernelDev::from_st_dev(st.st_dev).raw != w.dev;
    if (errno == ENOENT || errno == ENOTDIR) {
      if (&p == &candidates.back() || errno == ENOTDIR) return true;
      // ENOENT through /proc/PID/root may mean the process is gone: try the next way in.
      struct stat proc_st;
      if (stat(p.substr(0, p.find("/root") + 5).c_str(), &proc_st) == 0) return true;
    }
  }
  return false;
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

}  // namespace inotrace
