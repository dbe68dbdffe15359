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

std::optional<std::string> pod_uid_from_path(std::string_view path, std::string_view pods_root) {
  while (pods_root.size() > 1 && pods_root.back() == '/') pods_root.remove_suffix(1);
  if (!pods_root.empty() && path.size() > pods_root.size() && path.starts_with(pods_root) &&
      path[pods_root.size()] == '/')
    return uid_after(path, pods_root.size() + 1);
  size_t at = path.find(kKubeletShape);
  if (at != std::string_view::npos) return uid_after(path, at + kKubeletShape.size());
  return std::nullopt;
}

}  // namespace inotrace
