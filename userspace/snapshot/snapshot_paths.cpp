#include "snapshot/snapshot_paths.h"

#include <fmt/format.h>

#include "paths/marked_paths.h"

namespace inotrace {

std::optional<std::pair<MountRef, std::string>> find_mount_path(const MountNamespaces& mounts, KernelDev dev,
                                                                const std::string& fs_path,
                                                                const NamespaceMounts* ns) {
  std::optional<std::pair<MountRef, std::string>> best;
  for (const MountRef& ref : mounts.mounts_of(dev)) {
    if (ns && ref.ns != ns) continue;
    auto joined = join_mount_path(*ref.mount, fs_path);
    if (!joined) continue;
    if (!best) {
      best.emplace(ref, std::move(*joined));
      continue;
    }
    const MountEntry& cur = *best->first.mount;
    const MountEntry& cand = *ref.mount;
    bool better = cand.root.size() > cur.root.size() ||
                  (cand.root.size() == cur.root.size() && cand.mount_point.size() < cur.mount_point.size());
    if (better) best.emplace(ref, std::move(*joined));
  }
  return best;
}

void resolve_snapshot_paths(Snapshot& snap, const MountNamespaces& mounts) {
  for (auto& inst : snap.instances) {
    for (auto& h : inst.holders) {
      const NamespaceMounts* ns = mounts.of_pid(h.pid);
      h.mnt_ns = ns ? ns->mnt_ns : mount_ns_of(h.pid);
    }
    const NamespaceMounts* own = inst.holders.empty() ? nullptr : mounts.find(inst.holders.front().mnt_ns);
    for (auto& w : inst.watches) {
      if (w.path_source == PathSource::FileHandle || !w.path.empty()) continue;  // named (or said why)
      if (w.fs_path_source == PathSource::None) {
        w.path_note = (w.kernel_flags & INOTRACE_F_NO_DENTRY) ? "no dentry (pruned, or a pseudo filesystem)"
                                                               : "paths not collected";
        continue;
      }
      if (w.kernel_flags & INOTRACE_F_PATH_TRUNCATED) {
        // Deeper than the kernel's walk, and its file handle did not name it (a file, or the
        // holder exited): the tail, marked; joined with a mount point it would look whole.
        w.path = truncated_path(w.fs_path);
        w.path_source = w.fs_path_source;
        w.path_truncated = true;
        continue;
      }
      if (w.kernel_flags & INOTRACE_F_PATH_UNLINKED) {
        w.path_note = fmt::format("unlinked (was {})", w.fs_path);
        continue;
      }
      if (own) {
        if (auto found = find_mount_path(mounts, w.dev, w.fs_path, own)) {
          w.path = std::move(found->second);
          w.path_source = PathSource::Mount;
          continue;
        }
      }
      if (auto found = find_mount_path(mounts, w.dev, w.fs_path, nullptr)) {
        w.path = std::move(found->second);
        w.path_source = PathSource::Mount;
        w.path_note = fmt::format("mounted only in another mount namespace (mnt:[{}], pid {})",
                                  found->first.ns->mnt_ns, found->first.ns->pid);
        continue;
      }
      w.path_note = mounts.mounted_anywhere(w.dev)
                        ? fmt::format("outside every mount of {} (in-filesystem path {})", w.dev.str(), w.fs_path)
                        : fmt::format("not mounted in any namespace (in-filesystem path {})", w.fs_path);
    }
  }
}

}  // namespace inotrace
