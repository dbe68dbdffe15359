#include "paths/mount_join.h"

namespace inotrace {

std::string join_mount_point(const MountEntry& m, std::string_view rel) {
  if (rel == "/") rel = "";
  if (m.mount_point == "/") return rel.empty() ? std::string("/") : std::string(rel);
  std::string out;  // one allocation (mount_point + std::string(rel) made two: a path per watch)
  out.reserve(m.mount_point.size() + rel.size());
  out.append(m.mount_point).append(rel);
  return out;
}

std::optional<std::string> join_mount_path(const MountEntry& m, std::string_view fs_path) {
  std::string_view root = m.root;
  if (root == "/") return join_mount_point(m, fs_path);
  if (fs_path == root) return join_mount_point(m, "");
  if (fs_path.size() > root.size() && fs_path.starts_with(root) && fs_path[root.size()] == '/')
    return join_mount_point(m, fs_path.substr(root.size()));
  return std::nullopt;
}

namespace {
bool more_specific(const MountEntry& cand, const MountEntry& cur) {
  return cand.root.size() > cur.root.size() ||
         (cand.root.size() == cur.root.size() && cand.mount_point.size() < cur.mount_point.size());
}
}  // namespace

std::optional<std::pair<const MountEntry*, std::string>> best_mount_path(std::span<const MountEntry* const> mounts,
                                                                         std::string_view fs_path) {
  std::optional<std::pair<const MountEntry*, std::string>> best;
  for (const MountEntry* m : mounts) {
    if (best && !more_specific(*m, *best->first)) continue;
    if (auto joined = join_mount_path(*m, fs_path)) best.emplace(m, std::move(*joined));
  }
  return best;
}

std::optional<std::pair<MountRef, std::string>> find_mount_path(const MountNamespaces& mounts, KernelDev dev,
                                                                std::string_view fs_path, const NamespaceMounts* ns) {
  std::optional<std::pair<MountRef, std::string>> best;
  for (const MountRef& ref : mounts.mounts_of(dev)) {
    if ((ns && ref.ns != ns) || (best && !more_specific(*ref.mount, *best->first.mount))) continue;
    if (auto joined = join_mount_path(*ref.mount, fs_path)) best.emplace(ref, std::move(*joined));
  }
  return best;
}

}  // namespace inotrace
