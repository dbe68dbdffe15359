#include "leaks/pod_index.h"

#include <dirent.h>
#include <sys/stat.h>

#include <absl/hash/hash.h>

#include <algorithm>
#include <functional>
#include <string_view>

namespace inotrace {

namespace {

bool is_dir(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

template <typename F>
void for_each_subdir(const std::string& dir, F f) {
  DIR* d = opendir(dir.c_str());
  if (!d) return;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (e->d_type == DT_DIR || (e->d_type == DT_UNKNOWN && is_dir(dir + "/" + name))) f(name);
  }
  closedir(d);
}

constexpr std::string_view kKubeletPods = "/var/lib/kubelet/pods";

// <node>/home/kubernetes/containerized_mounter/rootfs/var/lib/kubelet/pods for a pods root of
// <node>/var/lib/kubelet/pods; "" for another.
std::string mounter_pods_root(std::string_view pods_root) {
  if (!pods_root.ends_with(kKubeletPods)) return "";
  std::string node(pods_root.substr(0, pods_root.size() - kKubeletPods.size()));
  return node + "/home/kubernetes/containerized_mounter/rootfs" + std::string(kKubeletPods);
}

// (st_dev, st_ino) of `path` if every directory on it, "/" included, is root's and writable by
// nobody else (or sticky, as /tmp: what others make in it is theirs, and fails in turn); no
// symlinks.
std::optional<std::pair<uint64_t, uint64_t>> root_made_dir_id(const std::string& path) {
  if (path.empty() || path.front() != '/') return std::nullopt;
  struct stat st;
  for (size_t end = 0;; end = path.find('/', end + 1)) {
    std::string prefix = end == std::string::npos ? path : path.substr(0, std::max<size_t>(end, 1));
    if (lstat(prefix.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != 0 ||
        ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)))
      return std::nullopt;
    if (end == std::string::npos) break;
  }
  return std::pair<uint64_t, uint64_t>{st.st_dev, st.st_ino};
}

}  // namespace

PodIndex::PodIndex(std::string pods_root, std::string kubepods_cgroup, std::string cgroup_fs)
    : pods_root_(std::move(pods_root)), configured_cgroup_(std::move(kubepods_cgroup)), cgroup_fs_(std::move(cgroup_fs)) {
  while (pods_root_.size() > 1 && pods_root_.back() == '/') pods_root_.pop_back();
  refresh();
}

bool PodIndex::pod_dir_exists(const std::string& uid) const { return pod_dirs_.contains(uid); }

uint64_t PodIndex::fingerprint() const {
  uint64_t h = absl::HashOf(kubepods_, pod_dirs_.size(), pod_cgroups_.size(),
                            pods_dir_ids_);
  for (const auto& d : pod_dirs_) h ^= absl::HashOf(d, 1);
  for (const auto& c : pod_cgroups_) h ^= absl::HashOf(c, 2);
  return h;
}

void PodIndex::refresh() {
  struct stat st;
  pods_root_id_.reset();
  pods_dir_ids_.clear();
  if (stat(pods_root_.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    pods_root_id_.emplace(st.st_dev, st.st_ino);
    pods_dir_ids_.push_back(*pods_root_id_);
  }
  if (auto mounter = root_made_dir_id(mounter_pods_root(pods_root_))) pods_dir_ids_.push_back(*mounter);
  pod_dirs_.clear();
  for_each_subdir(pods_root_, [&](const std::string& name) { pod_dirs_.insert(name); });

  kubepods_.clear();
  if (configured_cgroup_ == "none") {
    pod_cgroups_.clear();
    return;
  }
  if (!configured_cgroup_.empty()) {
    if (is_dir(configured_cgroup_)) kubepods_ = configured_cgroup_;
  } else {
    for (const char* rel : {"/kubepods.slice", "/kubepods", "/memory/kubepods.slice", "/memory/kubepods",
                            "/systemd/kubepods.slice", "/systemd/kubepods"})
      if (is_dir(cgroup_fs_ + rel)) {
        kubepods_ = cgroup_fs_ + rel;
        break;
      }
  }
  pod_cgroups_.clear();
  if (kubepods_.empty()) return;
  // Pods sit at depth 1 (guaranteed) or 2 (burstable/besteffort) below kubepods.
  std::function<void(const std::string&, int)> walk = [&](const std::string& dir, int depth) {
    for_each_subdir(dir, [&](const std::string& name) {
      if (name.find("pod") != std::string::npos)
        if (auto uid = pod_uid_from_cgroup_name(name)) {
          pod_cgroups_.insert(*uid);
          return;
        }
      if (depth < 2) walk(dir + "/" + name, depth + 1);
    });
  };
  walk(kubepods_, 1);
}

}  // namespace inotrace
