#include "repro/scratch_root.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "repro/output_dir.h"
#include "util/error.h"
#include "util/output_file.h"
#include "util/proc_stat.h"
#include "util/unique_fd.h"

namespace inotrace::repro {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw_sys("open", path, errno ? errno : ENOENT);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

std::string real_path(const std::string& p) {
  char buf[PATH_MAX];
  if (!::realpath(p.c_str(), buf)) throw_sys("realpath", p, errno);
  return buf;
}

bool path_within(const std::string& p, const std::string& dir) {
  if (dir == "/") return true;
  return p == dir ||
         (p.size() > dir.size() && p.compare(0, dir.size(), dir) == 0 && p[dir.size()] == '/');
}

std::string lexical_absolute(const std::string& p) {
  std::string s = std::filesystem::absolute(p).lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

// The real kubelet directory (and where it leads, if it is a symlink): never ours to touch.
void refuse_kubelet(const std::string& canonical) {
  std::vector<std::string> forbidden = {"/var/lib/kubelet"};
  char buf[PATH_MAX];
  if (::realpath("/var/lib/kubelet", buf)) forbidden.push_back(buf);
  for (const auto& k : forbidden)
    if (path_within(canonical, k))
      throw Error("scratch root: refusing " + canonical + ": inside the real " + k);
}

void write_all(int fd, const std::string& s, const std::string& path) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_sys("write", path, errno);
    }
    off += static_cast<size_t>(n);
  }
}

struct Marker {
  pid_t pid = 0;
  unsigned long long start = 0;
};

// The marker of <parent>/<name>, if that is verifiably a root of ours (scratch_root.h); else
// nullopt with the reason. Every open is relative to a descriptor and never follows a symlink.
std::optional<Marker> read_own_marker(int parent_fd, const std::string& name, std::string* why) {
  const uid_t me = ::geteuid();
  UniqueFd dir(::openat(parent_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir) {
    *why = errno == ELOOP || errno == ENOTDIR ? "not a directory (a symlink or a file)"
                                               : std::string("open: ") + std::strerror(errno);
    return std::nullopt;
  }
  struct stat st {};
  if (::fstat(dir.get(), &st) != 0) {
    *why = std::string("fstat: ") + std::strerror(errno);
    return std::nullopt;
  }
  if (st.st_uid != me) {
    *why = "owned by uid " + std::to_string(st.st_uid) + ", not by us (uid " + std::to_string(me) + ")";
    return std::nullopt;
  }
  if (st.st_mode & 077) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    *why = std::string("mode ") + mode + ", ours are 0700";
    return std::nullopt;
  }
  UniqueFd f(::openat(dir.get(), kScratchMarkerName, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!f || ::fstat(f.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != me ||
      (st.st_mode & 022) || st.st_size > 4096) {
    *why = std::string("no marker ") + kScratchMarkerName + " of ours in it";
    return std::nullopt;
  }
  char buf[4097];
  ssize_t n = ::read(f.get(), buf, sizeof buf - 1);
  std::istringstream in(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0));
  std::string magic, key;
  Marker m;
  bool have_pid = false, have_start = false;
  if (std::getline(in, magic) && magic == kScratchMarkerMagic) {
    while (in >> key) {
      if (key == "pid" && (in >> m.pid))
        have_pid = true;
      else if (key == "starttime" && (in >> m.start))
        have_start = true;
    }
  }
  if (!have_pid || !have_start || m.pid <= 0) {
    *why = std::string("its marker ") + kScratchMarkerName + " is not valid";
    return std::nullopt;
  }
  return m;
}

// The same process (pid not reused) and still running.
bool same_process_running(const Marker& m) {
  return process_running(m.pid) && process_start_time(m.pid) == m.start;
}

void unmount_all_under(const std::string& root) {
  for (int round = 0; round < 64; ++round) {
    auto mounts = mounts_under(root);
    if (mounts.empty()) return;
    // Deepest first; equal paths are stacked mounts, each umount removes the top one.
    std::stable_sort(mounts.begin(), mounts.end(), [](const MountEntry& a, const MountEntry& b) {
      return a.mount_point.size() > b.mount_point.size();
    });
    for (const auto& m : mounts) {
      const char* mp = m.mount_point.c_str();
      if (::umount2(mp, UMOUNT_NOFOLLOW) == 0) continue;
      int err = errno;
      // EINVAL/ENOENT: already gone with a parent we detached, or not a mount any more.
      if (err == EINVAL || err == ENOENT) continue;
      if (err == EBUSY) {  // something has a file open in it: detach lazily
        if (::umount2(mp, MNT_DETACH | UMOUNT_NOFOLLOW) == 0 || errno == EINVAL || errno == ENOENT)
          continue;
        throw_sys("umount2(MNT_DETACH)", m.mount_point, errno);
      }
      throw_sys("umount2", m.mount_point, err);
    }
  }
  if (!mounts_under(root).empty())
    throw Error("scratch root " + root + ": mounts remain after 64 rounds of umount");
}

// Mount identity of an open file: statx mnt_id (5.8+), else st_dev (cannot tell binds apart,
// but then unmount_all_under has already verified that nothing is mounted under the root).
uint64_t mount_identity(int fd, const std::string& path) {
  struct statx sx {};
  if (::statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) == 0 && (sx.stx_mask & STATX_MNT_ID))
    return sx.stx_mnt_id;
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw_sys("fstat", path, errno);
  return (1ull << 63) | st.st_dev;
}

// rm -rf of the contents of dirfd that never follows symlinks and never enters another mount.
void remove_contents(int dirfd, const std::string& path, uint64_t mnt) {
  int dup_fd = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) throw_sys("fcntl(F_DUPFD_CLOEXEC)", path, errno);
  DIR* d = ::fdopendir(dup_fd);
  if (!d) {
    int err = errno;
    ::close(dup_fd);
    throw_sys("fdopendir", path, err);
  }
  std::vector<std::pair<std::string, bool>> entries;  // name, is directory
  errno = 0;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st {};
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;
      int err = errno;
      ::closedir(d);
      throw_sys("fstatat", path + "/" + name, err);
    }
    entries.emplace_back(name, S_ISDIR(st.st_mode));
  }
  ::closedir(d);
  for (const auto& [name, is_dir] : entries) {
    std::string child = path + "/" + name;
    if (is_dir) {
      int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) {
        if (errno == ENOENT) continue;
        throw_sys("openat", child, errno);
      }
      try {
        if (mount_identity(fd, child) != mnt)
          throw Error("scratch root: refusing to remove " + child +
                                   ": it is on another mount (still mounted?)");
        remove_contents(fd, child, mnt);
      } catch (...) {
        ::close(fd);
        throw;
      }
      ::close(fd);
      if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
        throw_sys("rmdir", child, errno);
    } else if (::unlinkat(dirfd, name.c_str(), 0) != 0 && errno != ENOENT) {
      throw_sys("unlink", child, errno);
    }
  }
}

}  // namespace

void remove_tree_one_filesystem(const std::string& root) {
  int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return;
    throw_sys("open", root, errno);
  }
  try {
    remove_contents(fd, root, mount_identity(fd, root));
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  if (::rmdir(root.c_str()) != 0 && errno != ENOENT) throw_sys("rmdir", root, errno);
}

std::vector<MountEntry> mounts_under(const std::string& dir, pid_t pid) {
  std::string file =
      pid > 0 ? "/proc/" + std::to_string(pid) + "/mountinfo" : "/proc/self/mountinfo";
  auto parsed = parse_mountinfo(read_file(file));
  std::vector<MountEntry> out;
  for (auto& m : parsed.mounts)
    if (path_within(m.mount_point, dir)) out.push_back(std::move(m));
  return out;
}

unsigned long long process_start_time(pid_t pid) {
  auto stat = read_proc_stat("/proc", pid);
  auto start = stat ? parse_proc_stat_start_time(*stat) : std::nullopt;
  return start.value_or(0);
}

bool process_running(pid_t pid) {
  if (pid <= 0) return false;
  auto stat = read_proc_stat("/proc", pid);
  auto state = stat ? parse_proc_stat_state(*stat) : std::nullopt;
  return state && *state != 'Z' && *state != 'X' && *state != 'x';
}

ScratchRoot::ScratchRoot(const std::string& parent) {
  refuse_kubelet(lexical_absolute(parent));  // also when it does not exist (yet)
  std::string parent_real = real_path(parent);
  refuse_kubelet(parent_real);
  require_trusted_directory(parent_real);
  std::string tmpl = (parent_real == "/" ? "" : parent_real) + "/" + kScratchRootPrefix + "XXXXXX";
  if (!::mkdtemp(tmpl.data())) throw_sys("mkdtemp", tmpl, errno);
  path_ = tmpl;
  try {
    // The marker comes first, so a run killed at any later point leaves a recognisable root.
    std::string marker = std::string(kScratchMarkerMagic) + "\npid " + std::to_string(::getpid()) +
                         "\nstarttime " + std::to_string(process_start_time(::getpid())) + "\n";
    UniqueFd f = open_output_file(path_ + "/" + kScratchMarkerName, OutputMode::CreateNew, 0600);
    write_all(f.get(), marker, path_ + "/" + kScratchMarkerName);
    // See the header: a self-bind gives the subtree a mount of its own, made rprivate at once,
    // before anything is mounted under it.
    if (::mount(path_.c_str(), path_.c_str(), nullptr, MS_BIND, nullptr) != 0)
      throw_sys("mount(MS_BIND)", path_, errno);
    if (::mount(nullptr, path_.c_str(), nullptr, MS_PRIVATE | MS_REC, nullptr) != 0)
      throw_sys("mount(MS_PRIVATE|MS_REC)", path_, errno);
  } catch (...) {
    try {
      cleanup();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "inotrace: scratch root %s: cleanup after failure: %s\n", path_.c_str(),
                   e.what());
    }
    throw;
  }
}

ScratchRoot::~ScratchRoot() {
  try {
    cleanup();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "inotrace: scratch root %s: cleanup: %s\n", path_.c_str(), e.what());
  }
}

void ScratchRoot::adopt_process(pid_t pid) {
  if (pid <= 0) throw Error("scratch root: adopt_process: bad pid " + std::to_string(pid));
  if (std::find(processes_.begin(), processes_.end(), pid) != processes_.end()) return;
  processes_.push_back(pid);
}

void ScratchRoot::kill_process(pid_t pid) {
  auto it = std::find(processes_.begin(), processes_.end(), pid);
  if (it == processes_.end()) return;
  // An unreaped child's pid cannot be reused, so this kill cannot hit another process.
  ::kill(pid, SIGKILL);
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  processes_.erase(it);
}

void ScratchRoot::cleanup() {
  if (cleaned_) return;
  while (!processes_.empty()) kill_process(processes_.back());
  unmount_all_under(path_);
  remove_tree_one_filesystem(path_);
  cleaned_ = true;
}

ScratchRoot::StaleRoots ScratchRoot::cleanup_stale(const std::string& parent) {
  refuse_kubelet(lexical_absolute(parent));
  std::string parent_real = real_path(parent);
  refuse_kubelet(parent_real);
  // Paths below are used for umount and removal: nobody else may be able to swap them.
  require_trusted_directory(parent_real);
  UniqueFd parent_fd(::open(parent_real.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!parent_fd) throw_sys("open", parent_real, errno);
  std::vector<std::string> names;
  {
    int dup_fd = ::openat(parent_fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR* d = dup_fd >= 0 ? ::fdopendir(dup_fd) : nullptr;
    if (!d) {
      int err = errno;
      if (dup_fd >= 0) ::close(dup_fd);
      throw_sys("opendir", parent_real, err);
    }
    while (dirent* e = ::readdir(d))
      if (std::string name = e->d_name; name.rfind(kScratchRootPrefix, 0) == 0) names.push_back(name);
    ::closedir(d);
  }
  std::sort(names.begin(), names.end());
  StaleRoots out;
  for (const auto& name : names) {
    const std::string root = (parent_real == "/" ? "" : parent_real) + "/" + name;
    std::string why;
    auto marker = read_own_marker(parent_fd.get(), name, &why);
    if (!marker) {
      out.refused.push_back(root + ": " + why);
      continue;
    }
    if (same_process_running(*marker)) continue;  // a live run's root
    unmount_all_under(root);
    remove_tree_one_filesystem(root);
    out.removed.push_back(root);
  }
  return out;
}

}  // namespace inotrace::repro
