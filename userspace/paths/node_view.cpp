#include "paths/node_view.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include "paths/cgroup_identity.h"
#include "util/small_file.h"
#include "util/wall_clock.h"

namespace inotrace {

void NodeView::refresh_if_older(uint64_t max_age_ns, std::vector<std::string>* warnings) {
  uint64_t at = refreshed_mono_ns();
  if (at == 0 || WallClock::monotonic_now_ns() - at >= max_age_ns) refresh(warnings);
}

void ProcNodeView::refresh(std::vector<std::string>* warnings) {
  refreshed_ns_ = WallClock::monotonic_now_ns();
  mounts_ = std::make_shared<const MountNamespaces>(MountNamespaces::scan(warnings, proc_));
  workloads_.clear();
}

uint64_t ProcNodeView::mount_ns_of(uint32_t pid) const { return inotrace::mount_ns_of(pid, proc_); }

std::optional<DevIno> ProcNodeView::root_of(uint32_t pid) const {
  struct stat st;
  if (stat(fmt::format("{}/{}/root", proc_, pid).c_str(), &st) != 0) return std::nullopt;
  return DevIno{st.st_dev, st.st_ino};
}

namespace {
std::optional<std::vector<MountEntry>> read_mount_table(const std::string& file) {
  auto text = read_small_file(file);
  if (!text) return std::nullopt;
  return parse_mountinfo(*text).mounts;
}
}  // namespace

std::optional<std::vector<MountEntry>> ProcNodeView::mount_table_of(uint32_t pid) const {
  return read_mount_table(fmt::format("{}/{}/mountinfo", proc_, pid));
}

std::optional<std::vector<MountEntry>> ProcNodeView::own_mount_table() const {
  return read_mount_table(fmt::format("{}/self/mountinfo", proc_));
}

InodeAt ProcNodeView::inode_at(uint32_t pid, const std::string& path, KernelDev dev, uint64_t ino) const {
  return inotrace::inode_at(proc_, pid, path, dev, ino);
}

bool ProcNodeView::process_visible(uint32_t pid) const { return inotrace::process_visible(proc_, pid); }

InodeAt ProcNodeView::inode_here(const std::string& path, KernelDev dev, uint64_t ino) const {
  return inotrace::inode_at(path, dev, ino);
}

Workload ProcNodeView::workload_of(uint32_t pid) const {
  auto text = read_small_file(fmt::format("{}/{}/cgroup", proc_, pid));
  if (!text) return {};
  auto path = cgroup_path_of(*text);
  if (!path) return {};
  auto [it, fresh] = workloads_.try_emplace(*path);
  if (fresh) {
    CgroupIdentity id = identify_cgroup(*path);
    Workload& w = it->second;
    w.pod_uid = std::move(id.pod_uid);
    w.qos = std::move(id.qos);
    w.container_id = std::move(id.container_id);
    w.runtime = std::move(id.runtime);
    w.unit = std::move(id.unit);
    name_from_runtime_state(w, runtime_);
  }
  return it->second;
}

}  // namespace inotrace
