#include "leaks/pod_index.h"

#include <dirent.h>
#include <sys/stat.h>

#include <absl/hash/hash.h>

#include <algorithm>
#include <functional>

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

}  // namespace

PodIndex::PodIndex(std::string pods_root, std::string kubepods_cgroup, std::string cgroup_fs)
    : pods_root_(std::move(pods_root)), configured_cgroup_(std::move(kubepods_cgroup)), cgroup_fs_(std::move(cgroup_fs)) {
  while (pods_root_.size() > 1 && pods_root_.back() == '/') pods_root_.pop_back();
  refresh();
}

bool PodIndex::pod_dir_exists(const std::string& uid) const { return pod_dirs_.contains(uid); }

uint64_t PodIndex::fingerprint() const {
  uint64_t h = absl::HashOf(kubepods_, pod_dirs_.size(), pod_cgroups_.size());
  for (const auto& d : pod_dirs_) h ^= absl::HashOf(d, 1);
  for (const auto& c : pod_cgroups_) h ^= absl::HashOf(c, 2);
  return h;
}

void PodIndex::refresh() {
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
