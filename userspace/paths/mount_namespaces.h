// The mounts of every mount namespace on the machine (one /proc/PID/mountinfo per namespace),
// to turn in-filesystem paths into the paths processes see, and to know where (and whether) a
// filesystem is still mounted: what pins a dead pod's volume.
#pragma once

#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "paths/mountinfo.h"

namespace inotrace {

struct NamespaceMounts {
  uint64_t mnt_ns = 0;   // inode of /proc/PID/ns/mnt
  uint32_t pid = 0;      // the process that stands for it (whose mountinfo was read): see scan()
  std::vector<MountEntry> mounts;
};

// A mount of some filesystem, in some namespace.
struct MountRef {
  const NamespaceMounts* ns;
  const MountEntry* mount;
};

// Inode of /proc/PID/ns/mnt, or 0 if the process is gone or unreadable.
uint64_t mount_ns_of(uint32_t pid, const std::string& proc = "/proc");

class MountNamespaces {
 public:
  // Reads every distinct namespace, each through its first process in pid order whose root is
  // the namespace's top; failing that its first user process (not a kernel thread), failing
  // that its first process. `proc` is the procfs root (tests point it elsewhere).
  static MountNamespaces scan(std::vector<std::string>* warnings, const std::string& proc = "/proc");
  // Builds from given tables (tests).
  static MountNamespaces from(std::vector<NamespaceMounts> namespaces);

  const std::vector<NamespaceMounts>& namespaces() const { return namespaces_; }
  const NamespaceMounts* find(uint64_t mnt_ns) const;
  // The namespace of a process seen by scan() (0/nullptr if it was not).
  const NamespaceMounts* of_pid(uint32_t pid) const;
  // Every mount of the filesystem `dev`, in every namespace.
  std::vector<MountRef> mounts_of(KernelDev dev) const;
  bool mounted_anywhere(KernelDev dev) const;

 private:
  std::vector<NamespaceMounts> namespaces_;
  absl::flat_hash_map<uint32_t, size_t> by_pid_;
  absl::flat_hash_map<uint64_t, size_t> by_ns_;
  absl::flat_hash_map<uint32_t, std::vector<std::pair<size_t, size_t>>> by_dev_;  // dev -> (ns, mount)
  void index();
};

}  // namespace inotrace
