#include "paths/directory_in_root.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <deque>
#include <string_view>

#include "util/unique_fd.h"

namespace inotrace {

namespace {

constexpr int kMaxSymlinks = 40;  // as the kernel's own limit

void push_front_components(std::deque<std::string>& todo, std::string_view path) {
  std::deque<std::string> parts;
  for (size_t at = 0; at <= path.size();) {
    size_t end = path.find('/', at);
    if (end == std::string_view::npos) end = path.size();
    if (end > at) parts.emplace_back(path.substr(at, end - at));
    at = end + 1;
  }
  todo.insert(todo.begin(), parts.begin(), parts.end());
}

bool same(const struct stat& a, const struct stat& b) { return a.st_dev == b.st_dev && a.st_ino == b.st_ino; }

}  // namespace

std::optional<std::pair<uint64_t, uint64_t>> directory_in_root(const std::string& proc, uint32_t pid,
                                                               const std::string& dir) {
  UniqueFd root(open(fmt::format("{}/{}/root", proc, pid).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  struct stat root_st, st;
  if (!root || fstat(root.get(), &root_st) != 0) return std::nullopt;
  UniqueFd cur(dup(root.get()));
  if (!cur) return std::nullopt;
  std::deque<std::string> todo;
  push_front_components(todo, dir);
  int symlinks = 0;
  while (!todo.empty()) {
    std::string name = std::move(todo.front());
    todo.pop_front();
    if (name == ".") continue;
    if (name == ".." && (fstat(cur.get(), &st) != 0 || same(st, root_st))) continue;  // not above the root
    UniqueFd next(openat(cur.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!next || fstat(next.get(), &st) != 0) return std::nullopt;
    if (S_ISLNK(st.st_mode)) {
      char target[4096];
      ssize_t n = readlinkat(next.get(), "", target, sizeof(target));
      // Root's, and not a hard link of root's that a user made in a directory of theirs (where
      // fs.protected_hardlinks is 0, the kernel's default).
      if (st.st_uid != 0 || st.st_nlink != 1 || ++symlinks > kMaxSymlinks || n <= 0 || n == (ssize_t)sizeof(target)) return std::nullopt;
      std::string_view t(target, n);
      if (t.front() == '/') {
        cur = UniqueFd(dup(root.get()));
        if (!cur) return std::nullopt;
      }
      push_front_components(todo, t);
      continue;
    }
    if (!S_ISDIR(st.st_mode)) return std::nullopt;
    cur = std::move(next);
  }
  if (fstat(cur.get(), &st) != 0 || !S_ISDIR(st.st_mode)) return std::nullopt;
  return std::pair<uint64_t, uint64_t>{st.st_dev, st.st_ino};
}

}  // namespace inotrace
