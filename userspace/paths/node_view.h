// How the processes on this node see its files: the mount tables of every mount namespace (read
// once per refresh and shared by everything that names or judges a target), each process's
// mount namespace, root and own mount table, and whether a path still names an inode.
//
// Every part that names a watch's target or judges it asks through this interface: the live
// event completer (paths/event_paths), both snapshot sources and the fdinfo completion
// (snapshot/), the leak detector (leaks/) and the removal classifier (table/). ProcNodeView reads
// procfs; unit tests give a fake. "What is this process" (its pod and container) belongs here
// (workload_of) beside its mount namespace and root.
#pragma once

#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "paths/cgroup_id_index.h"
#include "paths/inode_at.h"
#include "paths/mount_namespaces.h"
#include "paths/mountinfo.h"
#include "paths/runtime_names.h"

namespace inotrace {

using DevIno = std::pair<uint64_t, uint64_t>;  // (st_dev, st_ino)

class NodeView {
 public:
  virtual ~NodeView() = default;

  // Reads the mount table of every mount namespace again (one mountinfo per namespace).
  virtual void refresh(std::vector<std::string>* warnings) = 0;
  virtual const MountNamespaces& mounts() const = 0;  // of the latest refresh
  // The same tables, kept alive for a holder after later refreshes (the removal classifier
  // compares with the tables of the snapshot before).
  virtual std::shared_ptr<const MountNamespaces> mount_tables() const = 0;
  virtual uint64_t refreshed_mono_ns() const = 0;  // 0: never refreshed
  // Refreshes unless the tables are younger than `max_age_ns`: users on one tick share a read.
  void refresh_if_older(uint64_t max_age_ns, std::vector<std::string>* warnings);

  // One process; 0 / nullopt / Unknown when it is gone or cannot be looked at.
  virtual uint64_t mount_ns_of(uint32_t pid) const = 0;
  virtual std::optional<DevIno> root_of(uint32_t pid) const = 0;
  virtual std::optional<std::vector<MountEntry>> mount_table_of(uint32_t pid) const = 0;  // its own mountinfo
  virtual std::optional<std::vector<MountEntry>> own_mount_table() const = 0;  // this process's
  virtual InodeAt inode_at(uint32_t pid, const std::string& path, KernelDev dev, uint64_t ino) const = 0;
  virtual bool process_visible(uint32_t pid) const = 0;
  // The same check in this process's own view.
  virtual InodeAt inode_here(const std::string& path, KernelDev dev, uint64_t ino) const = 0;
  // The procfs root through which processes' roots and cwds are reached ("/proc").
  virtual const std::string& proc() const = 0;

  // What the process is: its pod and container, or its systemd unit; null if unknown or gone.
  virtual std::shared_ptr<const Workload> workload_of(uint32_t pid) const = 0;
  // The same for the cgroup an event's task was in (its unified-hierarchy id): still known
  // after the task exited. Null for the root cgroup, an unknown id or no unified hierarchy.
  virtual std::shared_ptr<const Workload> workload_of_cgroup(uint64_t cgroup_id) const = 0;
};

class ProcNodeView : public NodeView {
 public:
  explicit ProcNodeView(std::string proc = "/proc", RuntimeStateDirs runtime = {})
      : proc_(std::move(proc)), runtime_(std::move(runtime)) {}

  void refresh(std::vector<std::string>* warnings) override;
  const MountNamespaces& mounts() const override { return *mounts_; }
  std::shared_ptr<const MountNamespaces> mount_tables() const override { return mounts_; }
  uint64_t refreshed_mono_ns() const override { return refreshed_ns_; }
  uint64_t mount_ns_of(uint32_t pid) const override;
  std::optional<DevIno> root_of(uint32_t pid) const override;
  std::optional<std::vector<MountEntry>> mount_table_of(uint32_t pid) const override;
  std::optional<std::vector<MountEntry>> own_mount_table() const override;
  InodeAt inode_at(uint32_t pid, const std::string& path, KernelDev dev, uint64_t ino) const override;
  bool process_visible(uint32_t pid) const override;
  InodeAt inode_here(const std::string& path, KernelDev dev, uint64_t ino) const override;
  const std::string& proc() const override { return proc_; }
  std::shared_ptr<const Workload> workload_of(uint32_t pid) const override;
  std::shared_ptr<const Workload> workload_of_cgroup(uint64_t cgroup_id) const override;

 private:
  std::string proc_;
  RuntimeStateDirs runtime_;
  // Per cgroup path (processes of one container share it). A pod whose names were not found is
  // looked up again after kRetryNamesNs (its bundle may be written after the process started);
  // the cache starts over beyond kMaxWorkloads paths.
  struct CachedWorkload {
    std::shared_ptr<const Workload> workload;
    uint64_t looked_ns = 0;
  };
  static constexpr uint64_t kRetryNamesNs = 10'000'000'000;
  static constexpr size_t kMaxWorkloads = 8192;
  std::shared_ptr<const Workload> identify(const std::string& cgroup_path, const std::string& hierarchy) const;
  std::shared_ptr<const Workload> cached_identity(const std::string& cgroup_path, const std::string& hierarchy) const;
  mutable CgroupIdIndex cgroup_ids_{unified_cgroup_mount()};
  mutable absl::flat_hash_map<std::string, CachedWorkload> workloads_;
  std::shared_ptr<const MountNamespaces> mounts_ = std::make_shared<const MountNamespaces>();
  uint64_t refreshed_ns_ = 0;
};

}  // namespace inotrace
