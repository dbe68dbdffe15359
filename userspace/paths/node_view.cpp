#include "paths/node_view.h"

#include <fmt/format.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <string>

#include "paths/cgroup_identity.h"
#include "util/small_file.h"
#include "util/unique_fd.h"
#include "util/wall_clock.h"

namespace inotrace {

void NodeView::refresh_if_older(uint64_t max_age_ns, std::vector<std::string>* warnings) {
  uint64_t at = refreshed_mono_ns();
  if (at == 0 || WallClock::monotonic_now_ns() - at >= max_age_ns) refresh(warnings);
}

void ProcNodeView::refresh(std::vector<std::string>* warnings) {
  refreshed_ns_ = WallClock::monotonic_now_ns();
  mounts_ = std::make_shared<const MountNamespaces>(MountNamespaces::scan(warnings, proc_));
}

uint64_t ProcNodeView::mount_ns_of(uint32_t pid) const { return inotrace::mount_ns_of(pid, proc_); }

std::optional<DevIno> ProcNodeView::root_of(uint32_t pid) const {
  struct stat st;
  if (stat(fmt::format("{}/{}/root", proc_, pid).c_str(), &st) != 0) return std::nullopt;
  return DevIno{st.st_dev, st.st_ino};
}

namespace {
std::optional<std::vector<MountEntry>> read_mount_table(const std::string& file) {
  auto parsed = read_mountinfo(file);  // within its read limit (paths/mountinfo.h)
  if (!parsed) return std::nullopt;
  return std::move(parsed->mounts);
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

namespace {

// Where a hierarchy of /proc/PID/cgroup is mounted ("" = the unified one).
std::string cgroup_mount(const std::string& hierarchy) {
  if (hierarchy.empty())
    return access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/unified";
  if (hierarchy.starts_with("name=")) return "/sys/fs/cgroup/" + hierarchy.substr(5);
  return "/sys/fs/cgroup/" + hierarchy;
}

// Whether root made the cgroup at `path` (as /proc/PID/cgroup prints it) under the hierarchy
// mounted at `mount`; nullopt where that cannot be told: the hierarchy is not mounted there, the
// path is above our cgroup namespace's root ("/../..": inotrace runs in a cgroup namespace of its
// own, as a pod on a cgroup v2 node does), or the cgroup is gone (its last process left). Looked
// up relative to the hierarchy's root, so that a path near PATH_MAX (which /proc still prints)
// is not made too long by the mount's prefix; a cgroup that is there but cannot be looked at
// is not taken as root's.
std::optional<bool> made_by_root(const std::string& mount, const std::string& path) {
  if (path == "/.." || path.starts_with("/../")) return std::nullopt;
  UniqueFd root(open(mount.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return std::nullopt;
  size_t from = path.find_first_not_of('/');
  const std::string relative = from == std::string::npos ? "." : path.substr(from);
  struct stat st;
  if (fstatat(root.get(), relative.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return errno == ENOENT ? std::nullopt : std::optional<bool>(false);
  return st.st_uid == 0;
}

}  // namespace

// A pod or unit only where root made the cgroup: a user with a delegated subtree (systemd user
// managers, rootless runtimes) can name directories "kubepods/.../pod<uid>" or "kubelet.service"
// and would otherwise pass as any pod or unit. Where that cannot be told (made_by_root), the
// name alone decides.
std::shared_ptr<const Workload> ProcNodeView::identify(const std::string& path, const std::string& hierarchy) const {
  CgroupIdentity id = identify_cgroup(path);
  if (id.pod_uid.empty() && id.unit.empty()) return nullptr;
  if (made_by_root(cgroup_mount(hierarchy), path) == false) return nullptr;
  auto w = std::make_shared<Workload>();
  w->pod_uid = std::move(id.pod_uid);
  w->qos = std::move(id.qos);
  w->container_id = std::move(id.container_id);
  w->runtime = std::move(id.runtime);
  w->unit = std::move(id.unit);
  name_from_runtime_state(*w, runtime_);
  return w;
}

std::shared_ptr<const Workload> ProcNodeView::workload_of(uint32_t pid) const {
  auto text = read_small_file(fmt::format("{}/{}/cgroup", proc_, pid));
  if (!text) return nullptr;
  auto placement = cgroup_placement_of(*text);
  if (!placement) return nullptr;
  return cached_identity(placement->path, placement->hierarchy);
}

std::shared_ptr<const Workload> ProcNodeView::workload_of_cgroup(uint64_t cgroup_id) const {
  if (cgroup_id <= 1) return nullptr;  // the root cgroup: every task on a v1-only host
  auto path = cgroup_ids_.path_of(cgroup_id);
  return path ? cached_identity(*path, "") : nullptr;
}

std::shared_ptr<const Workload> ProcNodeView::cached_identity(const std::string& path, const std::string& hierarchy) const {
  uint64_t now = WallClock::monotonic_now_ns();
  auto it = workloads_.find(path);
  if (it != workloads_.end()) {
    const auto& w = it->second.workload;
    bool unnamed = w && w->in_pod() && w->pod_name.empty();
    if (!unnamed || now - it->second.looked_ns < kRetryNamesNs) return w;
  }
  if (workloads_.size() >= kMaxWorkloads) workloads_.clear();
  CachedWorkload& c = workloads_[path];
  c.workload = identify(path, hierarchy);
  c.looked_ns = now;
  return c.workload;
}

}  // namespace inotrace
