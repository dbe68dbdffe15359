#include "paths/mount_namespaces.h"
#include "util/proc_stat.h"
#include "util/unique_fd.h"

#include <dirent.h>
#include <fmt/format.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

namespace inotrace {

uint64_t mount_ns_of(uint32_t pid, const std::string& proc) {
  struct stat st;
  if (stat(fmt::format("{}/{}/ns/mnt", proc, pid).c_str(), &st) != 0) return 0;
  return st.st_ino;
}

namespace {
// By the task's PF_KTHREAD flag (util/proc_stat.h: not by an empty cmdline, whose read can be
// kept waiting by the process). Unreadable (gone): as bad as a kernel thread.
bool kernel_thread(uint32_t pid, const std::string& proc) {
  auto stat = read_proc_stat(proc, pid);
  auto flags = stat ? parse_proc_stat_flags(*stat) : std::nullopt;
  return !flags || (*flags & kPfKthread);
}

// How well a process stands for its mount namespace, worst first: a kernel thread (its root is
// the initramfs under the real root), a user process chrooted below the namespace's top (or
// one whose root could not be looked at), one whose root is the top.
enum class Standing { KernelThread, User, AtTheTop };

// Where an open directory is: its inode and, where statx says (5.8+), its mount: the root of a
// bind of "/" mounted on a directory of "/" has a ".." that is the same inode, on another mount.
struct Place {
  dev_t dev = 0;
  ino_t ino = 0;
  uint64_t mnt_id = 0;  // 0: not told
  bool operator==(const Place&) const = default;
};
std::optional<Place> place_of(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return std::nullopt;
  Place p{st.st_dev, st.st_ino, 0};
  struct statx sx {};
  if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) == 0 && (sx.stx_mask & STATX_MNT_ID)) p.mnt_id = sx.stx_mnt_id;
  return p;
}

// ".." of PID's root stays where it is only at the top of PID's namespace (the root of its
// root mount); below a chroot it leads up, and at the root of a bind mount to the mount below.
// Both are looked at through one open of /proc/PID/root, so a pid reused meanwhile cannot
// answer half. (".." stops at this process's root too: were inotrace chrooted into the same
// directory as PID, it would take PID for the top; it runs at its namespace's top.)
bool root_at_namespace_top(uint32_t pid, const std::string& proc) {
  UniqueFd root(open(fmt::format("{}/{}/root", proc, pid).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return false;
  UniqueFd parent(openat(root.get(), "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!parent) return false;
  auto a = place_of(root.get()), b = place_of(parent.get());
  return a && b && *a == *b;
}

// A table read from a process at its namespace's top lists the namespace's root mount at "/";
// one that does not (the namespace torn down between the reads) cannot stand for it as such.
bool lists_root_mount(const std::vector<MountEntry>& mounts) {
  return std::any_of(mounts.begin(), mounts.end(), [](const MountEntry& m) { return m.mount_point == "/"; });
}

Standing standing_of(uint32_t pid, const std::string& proc) {
  if (kernel_thread(pid, proc)) return Standing::KernelThread;
  return root_at_namespace_top(pid, proc) ? Standing::AtTheTop : Standing::User;
}

// A process seen at the top stands for its namespace as such only with a table that shows it.
Standing standing_with_table(Standing s, const std::vector<MountEntry>& table) {
  return s == Standing::AtTheTop && !lists_root_mount(table) ? Standing::User : s;
}
}  // namespace

MountNamespaces MountNamespaces::scan(std::vector<std::string>* warnings, const std::string& proc) {
  MountNamespaces out;
  DIR* d = opendir(proc.c_str());
  if (!d) {
    if (warnings) warnings->push_back(fmt::format("cannot list {}: {}", proc, strerror(errno)));
    return out;
  }
  absl::flat_hash_map<uint64_t, size_t> seen;
  std::vector<Standing> standing;  // per namespace, of the process that stands for it
  size_t unreadable = 0;
  // A namespace's table is read from the process that stands for it: a chrooted one's lists
  // only the mounts below its jail, relative to it.
  auto read_table = [&](uint32_t pid) -> std::optional<std::vector<MountEntry>> {
    auto parsed = read_mountinfo(fmt::format("{}/{}/mountinfo", proc, pid));
    if (!parsed) return std::nullopt;  // vanished since it was listed: another member of the namespace may do
    if (warnings)
      for (auto& w : parsed->warnings) warnings->push_back(fmt::format("pid {} {}", pid, w));
    return std::move(parsed->mounts);
  };
  while (dirent* e = readdir(d)) {
    char* end;
    unsigned long pid = strtoul(e->d_name, &end, 10);
    if (*end || !pid) continue;
    uint64_t ns = mount_ns_of(pid, proc);
    if (!ns) continue;  // exited, or a kernel thread without a namespace link we can read
    auto it = seen.find(ns);
    if (it != seen.end()) {
      out.by_pid_[pid] = it->second;
      // The first process in pid order may be a kernel thread or chrooted (once the pids wrap,
      // a chrooted watcher can come first): a better one takes its place, table and all.
      if (standing[it->second] == Standing::AtTheTop) continue;
      Standing s = standing_of(pid, proc);
      if (s <= standing[it->second]) continue;
      auto table = read_table(pid);
      if (!table) continue;
      s = standing_with_table(s, *table);
      if (s <= standing[it->second]) continue;
      NamespaceMounts& nsm = out.namespaces_[it->second];
      nsm.pid = pid;
      nsm.mounts = std::move(*table);
      standing[it->second] = s;
      continue;
    }
    auto table = read_table(pid);
    if (!table) {
      unreadable++;
      continue;
    }
    seen[ns] = out.namespaces_.size();
    out.by_pid_[pid] = out.namespaces_.size();
    Standing s = standing_with_table(standing_of(pid, proc), *table);
    out.namespaces_.push_back(NamespaceMounts{ns, (uint32_t)pid, std::move(*table)});
    standing.push_back(s);
  }
  closedir(d);
  if (unreadable && warnings)
    warnings->push_back(fmt::format("{} processes' mountinfo could not be read (exited mid-scan)", unreadable));
  out.index();
  return out;
}

MountNamespaces MountNamespaces::from(std::vector<NamespaceMounts> namespaces) {
  MountNamespaces out;
  out.namespaces_ = std::move(namespaces);
  for (size_t i = 0; i < out.namespaces_.size(); i++) out.by_pid_[out.namespaces_[i].pid] = i;
  out.index();
  return out;
}

void MountNamespaces::index() {
  by_ns_.clear();
  by_dev_.clear();
  for (size_t i = 0; i < namespaces_.size(); i++) {
    by_ns_[namespaces_[i].mnt_ns] = i;
    for (size_t j = 0; j < namespaces_[i].mounts.size(); j++)
      by_dev_[namespaces_[i].mounts[j].dev.raw].emplace_back(i, j);
  }
}

const NamespaceMounts* MountNamespaces::find(uint64_t mnt_ns) const {
  auto it = by_ns_.find(mnt_ns);
  return it == by_ns_.end() ? nullptr : &namespaces_[it->second];
}

const NamespaceMounts* MountNamespaces::of_pid(uint32_t pid) const {
  auto it = by_pid_.find(pid);
  return it == by_pid_.end() ? nullptr : &namespaces_[it->second];
}

std::vector<MountRef> MountNamespaces::mounts_of(KernelDev dev) const {
  std::vector<MountRef> out;
  auto it = by_dev_.find(dev.raw);
  if (it == by_dev_.end()) return out;
  for (auto [i, j] : it->second) out.push_back(MountRef{&namespaces_[i], &namespaces_[i].mounts[j]});
  return out;
}

bool MountNamespaces::mounted_anywhere(KernelDev dev) const { return by_dev_.contains(dev.raw); }

}  // namespace inotrace
