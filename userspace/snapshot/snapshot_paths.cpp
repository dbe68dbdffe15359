#include "snapshot/snapshot_paths.h"

#include "paths/marked_paths.h"
#include "paths/unnamed_reasons.h"

namespace inotrace {

void set_holder_facts(Snapshot& snap, const NodeView& node) {
  for (auto& inst : snap.instances)
    for (auto& h : inst.holders) {
      const NamespaceMounts* ns = node.mounts().of_pid(h.pid);
      h.mnt_ns = ns ? ns->mnt_ns : node.mount_ns_of(h.pid);
      h.workload = node.workload_of(h.pid);
    }
}

const MountView* watcher_view(const SnapInstance& inst, MountViews& views) {
  for (const Holder& h : inst.holders)
    if (const MountView* v = views.of_process(h.pid, h.mnt_ns)) return v;
  return nullptr;
}

namespace {

void resolve_watch(SnapWatch& w, const MountView* own, MountViews& views) {
  if (w.fs_path_source == PathSource::None) {
    w.path_note = (w.kernel_flags & INOTRACE_F_NO_DENTRY) ? unnamed::kNoDentry : unnamed::kPathsNotCollected;
    return;
  }
  if (w.kernel_flags & INOTRACE_F_PATH_TRUNCATED) {
    // Deeper than the kernel's walk, and its file handle did not name it (a file, or the
    // holder exited): the tail, marked; joined with a mount point it would look whole.
    w.path = truncated_path(w.fs_path);
    w.path_source = w.fs_path_source;
    w.path_truncated = true;
    return;
  }
  if (w.kernel_flags & INOTRACE_F_PATH_UNLINKED) {
    w.path_note = unnamed::unlinked(w.fs_path);
    return;
  }
  std::string why;
  if (auto joined = views.join(own, w.dev, w.fs_path, why)) {
    w.path = std::move(joined->path);
    w.path_source = PathSource::Mount;
    w.path_note = std::move(joined->where);
  } else {
    w.path_note = std::move(why);
  }
}

}  // namespace

void resolve_snapshot_paths(Snapshot& snap, MountViews& views) {
  for (auto& inst : snap.instances) {
    const MountView* own = nullptr;
    bool looked = false;
    for (auto& w : inst.watches) {
      if (w.path_source == PathSource::FileHandle || !w.path.empty()) continue;  // named (or said why)
      if (!looked) own = watcher_view(inst, views), looked = true;
      resolve_watch(w, own, views);
    }
  }
}

}  // namespace inotrace
