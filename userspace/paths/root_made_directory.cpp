#include "paths/root_made_directory.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/unique_fd.h"

namespace inotrace {

namespace {

constexpr int kMaxDepth = 256;  // directories walked up before giving up

bool only_root_can_change(const struct stat& st) {
  if (!S_ISDIR(st.st_mode) || st.st_uid != 0) return false;
  return !(st.st_mode & (S_IWGRP | S_IWOTH)) || (st.st_mode & S_ISVTX);
}

}  // namespace

bool root_made_directory(const std::string& proc, uint32_t pid, const std::string& dir) {
  UniqueFd root(open(fmt::format("{}/{}/root", proc, pid).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  struct stat root_st;
  if (!root || fstat(root.get(), &root_st) != 0) return false;
  struct open_how how = {};
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  UniqueFd at(static_cast<int>(syscall(SYS_openat2, root.get(), dir.c_str(), &how, sizeof(how))));
  if (!at) return false;  // (before 5.6: no openat2, nothing is believed)
  // Up by "..", which is not confined to the process's root, until we reach it: a directory
  // opened inside that root always does.
  for (int depth = 0; depth < kMaxDepth; depth++) {
    struct stat st;
    if (fstat(at.get(), &st) != 0 || !only_root_can_change(st)) return false;
    if (st.st_dev == root_st.st_dev && st.st_ino == root_st.st_ino) return true;
    UniqueFd up(openat(at.get(), "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
    struct stat up_st;
    if (!up || fstat(up.get(), &up_st) != 0) return false;
    if (up_st.st_dev == st.st_dev && up_st.st_ino == st.st_ino) return false;  // the top, never the root
    at = std::move(up);
  }
  return false;
}

}  // namespace inotrace
