#include "paths/mount_ns_owner.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/unique_fd.h"

namespace inotrace {

namespace {

// The user namespace we run in: the initial one on a node (a DaemonSet's pod shares it; so do
// kubelet, the container runtime and their mounters). Not read through /proc/1, which a
// sandboxed or hardened procfs may refuse even to root.
std::optional<std::pair<dev_t, ino_t>> our_user_ns() {
  struct stat st;
  if (stat("/proc/self/ns/user", &st) != 0) return std::nullopt;
  return std::pair{st.st_dev, st.st_ino};
}

}  // namespace

std::optional<bool> mount_ns_owned_by_initial_user_ns(const std::string& proc, uint32_t pid) {
  static const auto initial = our_user_ns();
  if (!initial) return std::nullopt;
  UniqueFd mnt(open(fmt::format("{}/{}/ns/mnt", proc, pid).c_str(), O_RDONLY | O_CLOEXEC));
  if (!mnt) return std::nullopt;
  UniqueFd owner(ioctl(mnt.get(), NS_GET_USERNS));
  struct stat st;
  if (!owner || fstat(owner.get(), &st) != 0) return std::nullopt;
  return st.st_dev == initial->first && st.st_ino == initial->second;
}

}  // namespace inotrace
