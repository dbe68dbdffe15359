#include "paths/dotdot_walk.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "util/unique_fd.h"

namespace inotrace {
namespace {

constexpr int kMaxDepth = 4096;  // PATH_MAX/2 levels of one-byte names, and then some

bool same(const struct stat& a, const struct stat& b) { return a.st_dev == b.st_dev && a.st_ino == b.st_ino; }

// The name of `child` in the directory `parent`. Its entry's d_ino is the child's inode except
// where something is mounted on it (then d_ino is the covered directory's): those are found by
// stat'ing the subdirectories.
std::optional<std::string> name_in(int parent, const struct stat& child) {
  UniqueFd rd(openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!rd) return std::nullopt;
  DIR* d = fdopendir(rd.get());
  if (!d) return std::nullopt;
  rd.release();  // the DIR owns it now
  std::optional<std::string> found;
  std::vector<std::string> dirs;
  struct stat st;
  while (dirent* e = readdir(d)) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    if (e->d_ino == child.st_ino && fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && same(st, child)) {
      found = e->d_name;
      break;
    }
    if (e->d_type == DT_DIR || e->d_type == DT_UNKNOWN) dirs.emplace_back(e->d_name);
  }
  if (!found)
    for (const auto& n : dirs)
      if (fstatat(dirfd(d), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && same(st, child)) {
        found = n;
        break;
      }
  closedir(d);
  return found;
}

}  // namespace

std::optional<DotdotWalk> walk_dotdot(int dir_fd, dev_t stop_dev, ino_t stop_ino) {
  UniqueFd cur(fcntl(dir_fd, F_DUPFD_CLOEXEC, 0));
  if (!cur) return std::nullopt;
  std::vector<std::string> names;  // leaf first
  DotdotWalk out;
  struct stat st;
  if (fstat(cur.get(), &st) != 0 || !S_ISDIR(st.st_mode)) return std::nullopt;
  for (int depth = 0;; depth++) {
    if (st.st_dev == stop_dev && st.st_ino == stop_ino) {
      out.reached_stop = true;
      break;
    }
    if (depth == kMaxDepth) return std::nullopt;
    UniqueFd parent(openat(cur.get(), "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
    struct stat pst;
    if (!parent || fstat(parent.get(), &pst) != 0) return std::nullopt;
    if (same(pst, st)) break;  // the top: ".." of the root of the mount tree is itself
    auto name = name_in(parent.get(), st);
    if (!name) return std::nullopt;
    names.push_back(std::move(*name));
    cur = std::move(parent);
    st = pst;
  }
  for (auto it = names.rbegin(); it != names.rend(); ++it) (out.path += '/') += *it;
  return out;
}

}  // namespace inotrace
