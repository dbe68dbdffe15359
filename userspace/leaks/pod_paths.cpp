#include "leaks/pod_paths.h"

namespace inotrace {

namespace {

constexpr std::string_view kKubeletShape = "/var/lib/kubelet/pods/";

std::optional<std::string> uid_after(std::string_view path, size_t pos) {
  size_t end = path.find('/', pos);
  std::string_view uid = path.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
  if (uid.empty() || uid == "." || uid == "..") return std::nullopt;
  for (char c : uid)
    if (!(isalnum((unsigned char)c) || c == '-' || c == '_')) return std::nullopt;
  return std::string(uid);
}

}  // namespace

std::optional<PodInPath> pod_in_path(std::string_view path, std::string_view pods_root) {
  while (pods_root.size() > 1 && pods_root.back() == '/') pods_root.remove_suffix(1);
  size_t uid_at = std::string_view::npos;
  if (!pods_root.empty() && path.size() > pods_root.size() && path.starts_with(pods_root) &&
      path[pods_root.size()] == '/')
    uid_at = pods_root.size() + 1;
  else if (size_t at = path.find(kKubeletShape); at != std::string_view::npos)
    uid_at = at + kKubeletShape.size();
  if (uid_at == std::string_view::npos) return std::nullopt;
  auto uid = uid_after(path, uid_at);
  if (!uid) return std::nullopt;
  return PodInPath{std::move(*uid), std::string(path.substr(0, uid_at - 1))};
}

std::optional<std::string> pod_uid_from_path(std::string_view path, std::string_view pods_root) {
  auto pod = pod_in_path(path, pods_root);
  if (!pod) return std::nullopt;
  return std::move(pod->uid);
}

}  // namespace inotrace
