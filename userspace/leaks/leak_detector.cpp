#include "leaks/leak_detector.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <absl/hash/hash.h>

#include <algorithm>
#include <optional>

#include "leaks/pod_paths.h"
#include "paths/node_view.h"

namespace inotrace {

namespace {

struct PodMatch {
  std::string uid;
  std::string path;
};

// The first known path of the watch that names a pod: its own path, then every mount point of
// its filesystem (a dead pod's tmpfs is reachable only through the mounts that pin it).
std::optional<PodMatch> pod_of(const std::string& own_path, const std::vector<MountRef>& mounts,
                               const std::string& pods_root) {
  if (auto uid = pod_uid_from_path(own_path, pods_root)) return PodMatch{*uid, own_path};
  for (const auto& m : mounts)
    if (auto uid = pod_uid_from_path(m.mount->mount_point, pods_root)) return PodMatch{*uid, m.mount->mount_point};
  return std::nullopt;
}

std::optional<std::string> stale_reason(const NodeView& node, const InstanceEntry& inst, const WatchEntry& w,
                                        const std::string& path) {
  // Only a whole absolute path can be checked: a marked one (truncated, or inside a filesystem
  // whose mount is unknown) never starts with '/', and is never judged stale.
  if (w.path_truncated || path.empty() || path.front() != '/' || inst.holders.empty()) return std::nullopt;
  switch (node.inode_at(inst.holders.front().pid, path, KernelDev{w.dev}, w.ino())) {
    case InodeAt::Gone: return "path gone";
    case InodeAt::Other: return "path leads to another inode";
    default: return std::nullopt;  // the same, or could not look (holder exited, EACCES, > PATH_MAX): not stale
  }
}

WatchRef watch_ref(const Holder* h, const InstanceEntry& inst, int32_t wd, const WatchEntry& w, std::string path,
                   bool truncated) {
  auto stack = inst.stacks.find(wd);
  return WatchRef{h ? h->pid : 0, h ? h->comm : "", inst.id, wd, KernelDev{w.dev}, w.ino(), std::move(path), truncated,
                  h ? h->workload : nullptr, stack == inst.stacks.end() ? nullptr : stack->second};
}

// What pins what: every namespace's mounts (and who names it).
uint64_t mounts_fingerprint(const MountNamespaces& mounts) {
  uint64_t h = mounts.namespaces().size();
  for (const auto& ns : mounts.namespaces()) {
    h = absl::HashOf(h, ns.mnt_ns, ns.pid, ns.mounts.size());
    for (const auto& m : ns.mounts) h = absl::HashOf(h, m.mount_id, m.dev.raw, m.root, m.mount_point);
  }
  return h;
}

}  // namespace

void LeakDetector::check_stale_slice(const WatchTable& table, const NodeView& node) {
  size_t slices = std::max<size_t>(1, (table.watch_count() + kStaleSlice - 1) / kStaleSlice);
  size_t slice = stale_pass_++ % slices;
  auto in_slice = [&](std::pair<uint64_t, int32_t> key) { return absl::HashOf(key) % slices == slice; };
  // Forget this slice's verdicts (and any watch gone from the table), then judge it again.
  for (auto it = stale_by_watch_.begin(); it != stale_by_watch_.end();) {
    auto inst = table.instances().find(it->first.first);
    bool present = inst != table.instances().end() && inst->second.watches.contains(it->first.second);
    if (!present || in_slice(it->first)) stale_by_watch_.erase(it++);
    else ++it;
  }
  for (const auto& [group, inst] : table.instances()) {
    const Holder* h = inst.holders.empty() ? nullptr : &inst.holders.front();
    for (const auto& [wd, w] : inst.watches) {
      if (!in_slice({group, wd})) continue;
      std::string path = table.path_of(w);
      if (auto why = stale_reason(node, inst, w, path))
        stale_by_watch_.emplace(std::make_pair(group, wd), StaleWatch{watch_ref(h, inst, wd, w, path, w.path_truncated), *why});
    }
  }
  stale_.clear();
  for (const auto& [key, s] : stale_by_watch_) stale_.push_back(s);
}

void LeakDetector::evaluate(const WatchTable& table, const NodeView& node, uint64_t now, bool check_stale,
                            uint64_t confirmed_at) {
  pods_.refresh();
  if (check_stale) check_stale_slice(table, node);
  const MountNamespaces& mounts = node.mounts();
  // At rest nothing changes: walking 100k watches twice a second was most of an idle daemon's
  // CPU. Candidates still waiting for a snapshot's confirmation need the walk.
  uint64_t inputs = absl::HashOf(table.generation(), mounts_fingerprint(mounts), pods_.fingerprint());
  if (inputs == last_inputs_ && !candidates_pending()) return;
  last_inputs_ = inputs;
  leaks_.clear();
  absl::flat_hash_map<uint32_t, std::vector<MountRef>> mounts_by_dev;
  absl::flat_hash_map<std::pair<uint64_t, int32_t>, uint64_t> still;
  for (const auto& [group, inst] : table.instances()) {
    const Holder* h = inst.holders.empty() ? nullptr : &inst.holders.front();
    for (const auto& [wd, w] : inst.watches) {
      auto [mit, fresh] = mounts_by_dev.try_emplace(w.dev);
      if (fresh) mit->second = mounts.mounts_of(KernelDev{w.dev});
      std::string path = table.path_of(w);
      auto pod = pod_of(path, mit->second, pods_.pods_root());
      if (!pod) continue;
      std::string reason;
      if (!pods_.pod_dir_exists(pod->uid)) reason = "pod_deleted";
      else if (pods_.has_cgroup_hierarchy() && !pods_.pod_has_cgroup(pod->uid)) reason = "pod_orphaned";
      else continue;
      auto key = std::make_pair(group, wd);
      auto sit = since_.find(key);
      uint64_t since = sit == since_.end() ? now : sit->second;
      still[key] = since;
      if (since > confirmed_at) continue;  // a candidate until a snapshot confirms it
      Leak leak{watch_ref(h, inst, wd, w, pod->path, w.path_truncated && pod->path == path), pod->uid, reason, since, {}};
      for (const auto& m : mit->second) leak.pinned_by.push_back(Pin{m.ns->mnt_ns, m.ns->pid, m.mount->mount_point});
      leaks_.push_back(std::move(leak));
    }
  }
  since_ = std::move(still);
}

size_t LeakDetector::leaked_count(const std::string& reason) const {
  size_t n = 0;
  for (const auto& l : leaks_) n += l.reason == reason;
  return n;
}

}  // namespace inotrace
