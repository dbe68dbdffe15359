#include "paths/inode_at.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <cerrno>

namespace inotrace {

bool is_inode(const struct stat& st, KernelDev dev, uint64_t ino) {
  return st.st_ino == ino && KernelDev::from_st_dev(st.st_dev).raw == dev.raw;
}

InodeAt inode_at(const std::string& path, KernelDev dev, uint64_t ino) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return errno == ENOENT || errno == ENOTDIR ? InodeAt::Gone : InodeAt::Unknown;
  return is_inode(st, dev, ino) ? InodeAt::Same : InodeAt::Other;
}

InodeAt inode_at(const std::string& proc, uint32_t pid, const std::string& path, KernelDev dev, uint64_t ino) {
  return inode_at(fmt::format("{}/{}/root{}", proc, pid, path), dev, ino);
}

bool process_visible(const std::string& proc, uint32_t pid) {
  struct stat st;
  return stat(fmt::format("{}/{}/root", proc, pid).c_str(), &st) == 0;
}

}  // namespace inotrace
