// A node view whose every answer is given by the test: mount tables, each process's namespace,
// root and own table, and which paths name which inodes. For unit tests of whatever names or
// judges targets (no procfs, no privileges).
#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "paths/node_view.h"
#include "util/wall_clock.h"

namespace inotrace {

class FakeNodeView : public NodeView {
 public:
  explicit FakeNodeView(MountNamespaces tables = MountNamespaces::from({})) { set_tables(std::move(tables)); }
  // The tables the next refresh() finds (and mounts() until then).
  void set_tables(MountNamespaces tables) {
    tables_ = std::make_shared<const MountNamespaces>(std::move(tables));
  }

  void refresh(std::vector<std::string>*) override {
    refreshes++;
    refreshed_ns_ = WallClock::monotonic_now_ns();
  }
  const MountNamespaces& mounts() const override { return *tables_; }
  std::shared_ptr<const MountNamespaces> mount_tables() const override { return tables_; }
  uint64_t refreshed_mono_ns() const override { return refreshed_ns_; }
  uint64_t mount_ns_of(uint32_t pid) const override {
    auto it = ns_of.find(pid);
    return it == ns_of.end() ? 0 : it->second;
  }
  std::optional<DevIno> root_of(uint32_t pid) const override {
    auto it = roots.find(pid);
    if (it == roots.end()) return std::nullopt;
    return it->second;
  }
  std::optional<std::vector<MountEntry>> mount_table_of(uint32_t pid) const override {
    auto it = tables_of.find(pid);
    if (it == tables_of.end()) return std::nullopt;
    return it->second;
  }
  std::optional<std::vector<MountEntry>> own_mount_table() const override { return own_table; }
  InodeAt inode_at(uint32_t pid, const std::string& path, KernelDev dev, uint64_t ino) const override {
    return visible.count(pid) ? inode_here(path, dev, ino) : InodeAt::Unknown;
  }
  bool process_visible(uint32_t pid) const override { return visible.count(pid) > 0; }
  InodeAt inode_here(const std::string& path, KernelDev dev, uint64_t ino) const override {
    auto it = files.find(path);
    if (it == files.end()) return InodeAt::Gone;
    return it->second == std::pair{dev.raw, ino} ? InodeAt::Same : InodeAt::Other;
  }
  const std::string& proc() const override { return proc_; }
  std::shared_ptr<const Workload> workload_of(uint32_t pid) const override {
    auto it = workloads.find(pid);
    return it == workloads.end() ? nullptr : std::make_shared<const Workload>(it->second);
  }
  std::shared_ptr<const Workload> workload_of_cgroup(uint64_t cgroup_id) const override {
    auto it = cgroup_workloads.find(cgroup_id);
    return it == cgroup_workloads.end() ? nullptr : std::make_shared<const Workload>(it->second);
  }

  std::map<uint32_t, uint64_t> ns_of;
  std::map<uint32_t, DevIno> roots;
  std::map<uint32_t, std::vector<MountEntry>> tables_of;
  std::optional<std::vector<MountEntry>> own_table;
  std::set<uint32_t> visible;                                // processes whose root can be looked at
  std::map<std::string, std::pair<uint32_t, uint64_t>> files;  // path -> (dev, ino), the same for all
  std::map<uint32_t, Workload> workloads;
  std::map<uint64_t, Workload> cgroup_workloads;  // by cgroup id
  int refreshes = 0;

 private:
  std::shared_ptr<const MountNamespaces> tables_;
  uint64_t refreshed_ns_ = 0;
  std::string proc_ = "/nonexistent-proc";
};

}  // namespace inotrace
