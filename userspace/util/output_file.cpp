#include "util/output_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <vector>

#include "util/error.h"

namespace inotrace {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& why) {
  throw Error(fmt::format("cannot open {} for writing: {}", path, why));
}

std::vector<std::string> split_components(const std::string& p) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string::npos) j = p.size();
    if (j > i) out.push_back(p.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

// Walks `todo` (directory components) from "/" or "." to an O_PATH descriptor of the directory
// they name.
UniqueFd walk_directories(const std::string& path, const std::vector<std::string>& todo) {
  // Components left to walk, in reverse so that a symlink's target can be pushed in front.
  std::vector<std::string> stack(todo.rbegin(), todo.rend());
  UniqueFd dir(::open(path[0] == '/' ? "/" : ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir) fail(path, std::strerror(errno));
  int links = 0;
  while (!stack.empty()) {
    std::string name = std::move(stack.back());
    stack.pop_back();
    UniqueFd next(::openat(dir.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!next) fail(path, fmt::format("{}: {}", name, std::strerror(errno)));
    struct stat st {};
    if (::fstat(next.get(), &st) != 0) fail(path, std::strerror(errno));
    if (S_ISDIR(st.st_mode)) {
      dir = std::move(next);
      continue;
    }
    if (!S_ISLNK(st.st_mode)) fail(path, fmt::format("{} is not a directory", name));
    if (st.st_uid != ::geteuid() && st.st_uid != 0)
      fail(path, fmt::format("refusing to follow the symlink {} owned by uid {}", name, st.st_uid));
    if (++links > 40) fail(path, std::strerror(ELOOP));
    char target[PATH_MAX];
    ssize_t n = ::readlinkat(next.get(), "", target, sizeof target - 1);
    if (n < 0) fail(path, fmt::format("readlink {}: {}", name, std::strerror(errno)));
    target[n] = '\0';
    auto parts = split_components(target);
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) stack.push_back(*it);
    if (target[0] == '/') {
      dir.reset(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
      if (!dir) fail(path, std::strerror(errno));
    }
  }
  return dir;
}

// The directory holding the last component of `path`; `last` receives that component.
UniqueFd resolve_parent(const std::string& path, std::string& last) {
  if (path.empty()) fail(path, "empty path");
  std::vector<std::string> todo = split_components(path);
  if (todo.empty()) fail(path, "it is the root directory");
  last = todo.back();
  if (last == "." || last == "..") fail(path, "it names a directory");
  todo.pop_back();
  return walk_directories(path, todo);
}

}  // namespace

UniqueFd open_output_file(const std::string& path, OutputMode mode, unsigned perms) {
  std::string last;
  UniqueFd dir = resolve_parent(path, last);
  int flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY;
  if (mode == OutputMode::CreateNew) flags |= O_EXCL;
  // Never O_TRUNC here: what we would truncate is checked first.
  UniqueFd fd(::openat(dir.get(), last.c_str(), flags | O_NONBLOCK, perms));
  if (!fd) {
    int err = errno;
    // A symlink gives ELOOP, or EACCES when it sits in a sticky directory (6.18).
    struct stat lst {};
    if (err == ELOOP || (::fstatat(dir.get(), last.c_str(), &lst, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(lst.st_mode)))
      fail(path, "it is a symlink (refused: it could point anywhere)");
    errno = err;
    if (errno == EEXIST) fail(path, "it already exists");
    fail(path, std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) fail(path, std::strerror(errno));
  // Character devices (/dev/null, a tty) cannot be planted without CAP_MKNOD; a FIFO can.
  if (!S_ISCHR(st.st_mode) && st.st_uid != ::geteuid())
    fail(path, fmt::format("it belongs to uid {}, not to the caller (uid {})", st.st_uid, ::geteuid()));
  if (S_ISREG(st.st_mode)) {
    if (st.st_nlink > 1) fail(path, "it has other hard links");
    if (::ftruncate(fd.get(), 0) != 0) fail(path, std::strerror(errno));
  } else if (!S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode)) {
    fail(path, "it is not a regular file");
  }
  // Blocking writes from here on (O_NONBLOCK only kept open() from hanging on a FIFO).
  int fl = ::fcntl(fd.get(), F_GETFL);
  if (fl >= 0) ::fcntl(fd.get(), F_SETFL, fl & ~O_NONBLOCK);
  return fd;
}

UniqueFd open_directory_safely(const std::string& path) {
  if (path.empty()) fail(path, "empty path");
  UniqueFd dir = walk_directories(path, split_components(path));
  UniqueFd fd(::openat(dir.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) fail(path, std::strerror(errno));
  return fd;
}

}  // namespace inotrace
