#include "paths/mount_namespaces.h"
#include "util/unique_fd.h"

#include <dirent.h>
#include <fmt/format.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace inotrace {

uint64_t mount_ns_of(uint32_t pid, const std::string& proc) {
  struct stat st;
  if (stat(fmt::format("{}/{}/ns/mnt", proc, pid).c_str(), &st) != 0) return 0;
  return st.st_ino;
}

namespace {
// Kernel threads have an empty cmdline.
bool kernel_thread(uint32_t pid, const std::string& proc) {
  UniqueFd fd(open(fmt::format("{}/{}/cmdline", proc, pid).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return true;
  char c;
  return read(fd.get(), &c, 1) <= 0;
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
  size_t unreadable = 0;
  // A namespace's table and root are those of the process that stands for it.
  auto add_namespace = [&](uint64_t ns, uint32_t pid) {
    std::ifstream f(fmt::format("{}/{}/mountinfo", proc, pid));
    std::stringstream text;
    text << f.rdbuf();
    if (!f) return false;  // vanished between the two reads: another member of the namespace may do
    auto parsed = parse_mountinfo(text.str());
    if (warnings)
      for (auto& w : parsed.warnings) warnings->push_back(fmt::format("pid {} {}", pid, w));
    seen[ns] = out.namespaces_.size();
    out.by_pid_[pid] = out.namespaces_.size();
    out.namespaces_.push_back(NamespaceMounts{ns, pid, std::move(parsed.mounts)});
    return true;
  };
  // This process stands for its own namespace, not the first of it in /proc's order: that one
  // may be chrooted (once the pids wrapped, where pid 1's namespace is unreadable, a chrooted
  // watcher came first), and its table and root would be its jail's.
  uint32_t self = 0;
  if (proc == "/proc") {
    self = static_cast<uint32_t>(getpid());
    if (uint64_t ns = mount_ns_of(self, proc)) add_namespace(ns, self);
  }
  while (dirent* e = readdir(d)) {
    char* end;
    unsigned long pid = strtoul(e->d_name, &end, 10);
    if (*end || !pid || pid == self) continue;
    uint64_t ns = mount_ns_of(pid, proc);
    if (!ns) continue;  // exited, or a kernel thread without a namespace link we can read
    auto it = seen.find(ns);
    if (it != seen.end()) {
      out.by_pid_[pid] = it->second;
      // Name a namespace by a user process, not a kernel thread (pid 2 lives in the initial one).
      NamespaceMounts& nsm = out.namespaces_[it->second];
      if (nsm.pid != self && kernel_thread(nsm.pid, proc) && !kernel_thread(pid, proc)) nsm.pid = pid;
      continue;
    }
    if (!add_namespace(ns, static_cast<uint32_t>(pid))) unreadable++;
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
