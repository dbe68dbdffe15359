#include "paths/mount_views.h"

#include "paths/mount_join.h"
#include "paths/unnamed_reasons.h"

namespace inotrace {

MountViews::NsEntry& MountViews::of_namespace(const NamespaceMounts* ns) {
  auto [it, inserted] = ns_views_.try_emplace(ns);
  if (inserted) {
    it->second.view.key = next_key_++;
    it->second.view.pid = ns->pid;
    it->second.view.ns = ns;
    it->second.root = node_.root_of(ns->pid);
  }
  return it->second;
}

// Its namespace's view, or its own table if its root differs from the root of the process whose
// table represents the namespace (a chroot).
const MountView* MountViews::of_process(uint32_t pid, uint64_t mnt_ns) {
  if (auto it = by_pid_.find(pid); it != by_pid_.end()) return it->second;
  const NamespaceMounts* ns = tables_->of_pid(pid);
  if (!ns) ns = tables_->find(mnt_ns ? mnt_ns : node_.mount_ns_of(pid));
  const MountView* v = nullptr;
  if (ns) {
    NsEntry& e = of_namespace(ns);
    v = &e.view;
    auto root = node_.root_of(pid);
    if (root && e.root && *root != *e.root) {
      if (auto table = node_.mount_table_of(pid)) {
        auto own = std::make_unique<MountView>(MountView{next_key_++, pid, ns, std::move(*table), true});
        v = own.get();
        own_views_.push_back(std::move(own));
      }
    }
  }
  by_pid_[pid] = v;
  return v;
}

const std::vector<const MountEntry*>& MountViews::mounts(const MountView& v, KernelDev dev) {
  auto [it, inserted] = mounts_.try_emplace(v.key << 32 | dev.raw);
  if (inserted) {
    if (v.chrooted) {
      for (const MountEntry& m : v.own)
        if (m.dev == dev) it->second.push_back(&m);
    } else {
      for (const MountRef& ref : tables_->mounts_of(dev))
        if (ref.ns == v.ns) it->second.push_back(ref.mount);
    }
  }
  return it->second;
}

std::string MountViews::elsewhere(const MountView* own, const NamespaceMounts* ns) const {
  if (!own) return std::string(unnamed::kWatcherNamespaceUnknown);
  if (ns == own->ns) return std::string(unnamed::kOutsideWatchersRoot);
  return unnamed::mounted_elsewhere(ns->mnt_ns, ns->pid);
}

MountChoice MountViews::choose(const MountView* own, KernelDev dev) {
  if (own) {
    const auto& m = mounts(*own, dev);
    if (!m.empty()) return MountChoice{own, &m, ""};
  }
  // Not mounted where the watcher looks: a filesystem that survives only in another mount
  // namespace (what pins a dead pod's volume), or outside a chrooted watcher's root.
  const NamespaceMounts* other = nullptr;
  auto refs = tables_->mounts_of(dev);
  for (const MountRef& ref : refs)
    if (!own || ref.ns != own->ns) {
      other = ref.ns;
      break;
    }
  if (!other && !refs.empty()) other = refs.front().ns;
  if (!other) return MountChoice{};
  const MountView& ov = of_namespace(other).view;
  return MountChoice{&ov, &mounts(ov, dev), elsewhere(own, other)};
}

std::optional<JoinedPath> MountViews::join(const MountView* own, KernelDev dev, std::string_view fs_path,
                                           std::string& why) {
  if (own)
    if (auto found = best_mount_path(mounts(*own, dev), fs_path)) return JoinedPath{std::move(found->second), ""};
  if (auto found = find_mount_path(*tables_, dev, fs_path, nullptr))
    return JoinedPath{std::move(found->second), elsewhere(own, found->first.ns)};
  why = tables_->mounted_anywhere(dev) ? unnamed::outside_every_mount(dev, fs_path) : unnamed::not_mounted(fs_path);
  return std::nullopt;
}

}  // namespace inotrace
