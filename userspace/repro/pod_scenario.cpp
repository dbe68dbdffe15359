#include "repro/pod_scenario.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "util/error.h"

namespace inotrace::repro {
namespace {

std::string basename_of(const std::string& p) { return p.substr(p.rfind('/') + 1); }

void mkdir_p(const std::string& path, mode_t mode = 0755) {
  for (size_t pos = 1; pos != std::string::npos;) {
    pos = path.find('/', pos + 1);
    std::string prefix = path.substr(0, pos);
    if (::mkdir(prefix.c_str(), mode) != 0 && errno != EEXIST) throw_sys("mkdir", prefix, errno);
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw_sys("stat", path, errno);
  if (!S_ISDIR(st.st_mode)) throw_sys("mkdir", path, ENOTDIR);
}

void write_file(const std::string& path, const std::string& content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) throw_sys("open", path, errno);
  size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      throw_sys("write", path, err);
    }
    off += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) throw_sys("close", path, errno);
}

bool exists_nofollow(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

bool is_mount_point(const std::string& path) {
  for (const auto& m : mounts_under(path))
    if (m.mount_point == path) return true;
  return false;
}

// umount(8) without MNT_DETACH, as kubelet does; "not mounted" (EINVAL) and "gone" are success.
void umount_if_mounted(const std::string& path) {
  if (::umount2(path.c_str(), UMOUNT_NOFOLLOW) == 0 || errno == EINVAL || errno == ENOENT) return;
  throw_sys("umount2", path, errno);
}

std::string random_uid() {
  std::random_device rd;
  std::array<uint8_t, 16> b{};
  for (auto& x : b) x = static_cast<uint8_t>(rd());
  b[6] = (b[6] & 0x0f) | 0x40;  // version 4
  b[8] = (b[8] & 0x3f) | 0x80;  // variant 1
  char out[37];
  std::snprintf(out, sizeof out,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return out;
}

// kube-api-access-<5 chars of Kubernetes' name alphabet>, stable per uid.
std::string api_access_name(const std::string& uid) {
  static constexpr char kAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : uid) h = (h ^ c) * 1099511628211ull;
  std::string s = "kube-api-access-";
  for (int i = 0; i < 5; ++i, h /= 27) s += kAlphabet[h % 27];
  return s;
}

// The atomic writer's data dir name: time.Now().UTC().Format("..2006_01_02_15_04_05.") + nanos.
std::string data_dir_name() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  ::gmtime_r(&ts.tv_sec, &t);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, "..%Y_%m_%d_%H_%M_%S.", &t);
  std::snprintf(buf + n, sizeof buf - n, "%09ld", static_cast<long>(ts.tv_nsec));
  return buf;
}

// kubelet's AtomicWriter: files in a timestamped dir, "..data" swapped in by rename of
// "..data_tmp", then one user-visible symlink per file through "..data".
std::string atomic_write(const std::string& dir) {
  std::string data = dir + "/..data";
  if (exists_nofollow(data)) {
    char buf[PATH_MAX];
    ssize_t n = ::readlink(data.c_str(), buf, sizeof buf - 1);
    if (n < 0) throw_sys("readlink", data, errno);
    return std::string(buf, static_cast<size_t>(n));
  }
  std::string ts = data_dir_name();
  if (::mkdir((dir + "/" + ts).c_str(), 0755) != 0) throw_sys("mkdir", dir + "/" + ts, errno);
  const std::pair<const char*, const char*> files[] = {
      {"token", "eyJhbGciOiJSUzI1NiIsImtpZCI6Imlub3RyYWNlIn0.cmVwcm8.c2lnbmF0dXJl"},
      {"ca.crt", "-----BEGIN CERTIFICATE-----\naW5vdHJhY2UgcmVwcm8=\n-----END CERTIFICATE-----\n"},
      {"namespace", "default"},
  };
  for (const auto& [name, content] : files) write_file(dir + "/" + ts + "/" + name, content);
  std::string tmp = dir + "/..data_tmp";
  if (::symlink(ts.c_str(), tmp.c_str()) != 0) throw_sys("symlink", tmp, errno);
  if (::rename(tmp.c_str(), data.c_str()) != 0) throw_sys("rename", tmp + " -> " + data, errno);
  for (const auto& [name, content] : files) {
    std::string link = dir + "/" + name;
    std::string target = std::string("..data/") + name;
    if (::symlink(target.c_str(), link.c_str()) != 0 && errno != EEXIST)
      throw_sys("symlink", link, errno);
  }
  return ts;
}

// ---- helper processes ----------------------------------------------------------------------
// Children report to us in fixed 12-byte records; each write(2) of one is atomic (< PIPE_BUF).
// Between fork and exit/exec a child only makes system calls on data prepared before the fork,
// so this is safe in a multi-threaded parent too.
struct Record {
  int32_t kind;
  int32_t a;
  uint32_t b;
};
enum : int32_t { kWatchAdded = 1, kReady = 2, kEvent = 3, kFailed = 4 };

void child_send(int fd, int32_t kind, int32_t a, uint32_t b) {
  Record r{kind, a, b};
  while (::write(fd, &r, sizeof r) < 0 && errno == EINTR) {
  }
}

[[noreturn]] void child_fail(int fd, int32_t step) {
  child_send(fd, kFailed, step, static_cast<uint32_t>(errno));
  ::_exit(1);
}

// Forks a helper that gets SIGKILL when the calling thread dies, is adopted by `root`, and
// talks back through *report_fd (our read end; the child's write end is O_CLOEXEC).
template <class Body>
pid_t spawn_helper(ScratchRoot& root, int* report_fd, Body&& body) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_sys("pipe2", "helper report pipe", errno);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    throw_sys("fork", "helper", err);
  }
  if (pid == 0) {
    ::close(fds[0]);
    // Dies with us, so an interrupted test leaves no helper (and no mount namespace) behind.
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) ::_exit(1);
    body(fds[1]);
    ::_exit(0);
  }
  ::close(fds[1]);
  try {
    root.adopt_process(pid);
  } catch (...) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    ::close(fds[0]);
    throw;
  }
  *report_fd = fds[0];
  return pid;
}

// One record, waiting up to 10 s. False on EOF.
bool read_record(int fd, Record& r, const std::string& what) {
  size_t got = 0;
  auto* p = reinterpret_cast<char*>(&r);
  while (got < sizeof r) {
    pollfd pfd{fd, POLLIN, 0};
    int pr = ::poll(&pfd, 1, 10000);
    if (pr < 0 && errno == EINTR) continue;
    if (pr < 0) throw_sys("poll", what, errno);
    if (pr == 0) throw Error(what + ": no answer from the helper within 10 s");
    ssize_t n = ::read(fd, p + got, sizeof r - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_sys("read", what, errno);
    if (n == 0) {
      if (got == 0) return false;
      throw Error(what + ": truncated report from the helper");
    }
    got += static_cast<size_t>(n);
  }
  return true;
}

// pid is asleep in a system call that waits for events (/proc/<pid>/syscall names the call a
// blocked task is in; "running" otherwise).
bool waiting_for_events(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/syscall");
  long nr = -1;
  if (!(f >> nr)) return false;
  static const long kWaits[] = {
      SYS_read, SYS_readv, SYS_pselect6, SYS_ppoll, SYS_epoll_pwait,
#ifdef SYS_select
      SYS_select,
#endif
#ifdef SYS_poll
      SYS_poll,
#endif
#ifdef SYS_epoll_wait
      SYS_epoll_wait,
#endif
#ifdef SYS_epoll_pwait2
      SYS_epoll_pwait2,
#endif
  };
  return std::find(std::begin(kWaits), std::end(kWaits), nr) != std::end(kWaits);
}

// Scratch roots mounted in this namespace (ours and any other run's): a helper's new namespace
// must not keep copies of their mounts, or it would pin volumes it was not asked to pin.
std::vector<std::string> scratch_root_mounts() {
  std::vector<std::string> out;
  for (const auto& m : mounts_under("/"))
    if (basename_of(m.mount_point).rfind(kScratchRootPrefix, 0) == 0) out.push_back(m.mount_point);
  return out;
}

}  // namespace

const char* to_string(Pinning p) {
  switch (p) {
    case Pinning::None:
      return "none";
    case Pinning::MounterSameNamespace:
      return "mounter_same_namespace";
    case Pinning::OtherNamespace:
      return "other_namespace";
    case Pinning::OtherNamespaceSameDir:
      return "other_namespace_same_dir";
  }
  return "?";
}

// ---- Watcher --------------------------------------------------------------------------------

Watcher::Watcher(Watcher&& o) noexcept { *this = std::move(o); }

Watcher& Watcher::operator=(Watcher&& o) noexcept {
  if (this != &o) {
    if (pipe_fd_ >= 0) ::close(pipe_fd_);
    pid_ = std::exchange(o.pid_, -1);
    inotify_fd_ = std::exchange(o.inotify_fd_, -1);
    pipe_fd_ = std::exchange(o.pipe_fd_, -1);
    pending_ = std::move(o.pending_);
    watches_ = std::move(o.watches_);
  }
  return *this;
}

Watcher::~Watcher() {
  if (pipe_fd_ >= 0) ::close(pipe_fd_);
}

std::vector<WatcherEvent> Watcher::read_events(std::chrono::milliseconds wait) {
  std::vector<WatcherEvent> out;
  if (pipe_fd_ < 0) return out;
  auto drain = [&] {
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(pipe_fd_, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // EAGAIN, or EOF (watcher gone)
      pending_.append(buf, static_cast<size_t>(n));
    }
    size_t off = 0;
    for (; off + sizeof(Record) <= pending_.size(); off += sizeof(Record)) {
      Record r;
      std::memcpy(&r, pending_.data() + off, sizeof r);
      if (r.kind == kEvent) out.push_back({r.a, r.b});
    }
    pending_.erase(0, off);
  };
  drain();
  if (out.empty() && wait.count() > 0) {
    pollfd pfd{pipe_fd_, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(wait.count())) > 0) drain();
  }
  return out;
}

// ---- PodScenario ----------------------------------------------------------------------------

PodScenario::PodScenario(ScratchRoot& root) : root_(root) {}

std::string PodScenario::pods_root() const { return root_.sub("var/lib/kubelet/pods"); }

std::string PodScenario::mounter_pods_root() const {
  return root_.sub("home/kubernetes/containerized_mounter/rootfs/var/lib/kubelet/pods");
}

std::vector<std::string> PodScenario::default_watch_paths(const PodPaths& p) {
  return {p.volume, p.volume + "/token", p.configmap_dir};
}

PodPaths PodScenario::create_pod(const PodSpec& spec) {
  std::string uid = spec.uid.empty() ? random_uid() : spec.uid;
  if (uid == "." || uid == ".." || uid.find('/') != std::string::npos ||
      uid.find('\0') != std::string::npos)
    throw Error("create_pod: invalid pod uid '" + uid + "'");
  if (root_.cleaned_up()) throw Error("create_pod: the scratch root was cleaned up");

  auto it = pods_.find(uid);
  if (it != pods_.end() && it->second.pinning != spec.pinning)
    throw Error("create_pod: pod " + uid + " exists with pinning " +
                             to_string(it->second.pinning));
  if (it == pods_.end()) {
    PodPaths p;
    p.uid = uid;
    p.pinning = spec.pinning;
    const std::string vol = "volumes/kubernetes.io~projected/" + api_access_name(uid);
    p.pod_dir = pods_root() + "/" + uid;
    p.volume = p.pod_dir + "/" + vol;
    p.mounter_pod_dir = mounter_pods_root() + "/" + uid;
    p.mounter_volume = p.mounter_pod_dir + "/" + vol;
    p.configmap_dir = p.pod_dir + "/volumes/kubernetes.io~configmap/config";

    mkdir_p(p.mounter_volume);
    mkdir_p(p.volume);
    mkdir_p(p.configmap_dir);
    // The containerized mounter mounts the projected volume in its rootfs...
    if (!is_mount_point(p.mounter_volume) &&
        ::mount("tmpfs", p.mounter_volume.c_str(), "tmpfs", MS_NOSUID | MS_NODEV,
                "size=1m,mode=0755") != 0)
      throw_sys("mount(tmpfs)", p.mounter_volume, errno);
    // ...and binds it to kubelet's path (a private bind: see scratch_root.h).
    if (!is_mount_point(p.volume) &&
        ::mount(p.mounter_volume.c_str(), p.volume.c_str(), nullptr, MS_BIND, nullptr) != 0)
      throw_sys("mount(MS_BIND) " + p.mounter_volume + " ->", p.volume, errno);
    // Kubelet writes the volume's contents through its own path.
    p.data_dir = atomic_write(p.volume);
    if (!exists_nofollow(p.configmap_dir + "/app.properties"))
      write_file(p.configmap_dir + "/app.properties", "log.level=info\n");
    it = pods_.emplace(uid, std::move(p)).first;
  }

  PodPaths& p = it->second;
  if (p.other_ns_pid < 0) {
    if (p.pinning == Pinning::OtherNamespace) p = pin_in_other_namespace(p);
    if (p.pinning == Pinning::OtherNamespaceSameDir) p = pin_in_other_namespace(p, p.volume);
  }
  return p;
}

namespace {

// A helper's first record on its report pipe, or nullopt at EOF (for an exec'd helper, EOF means
// exec succeeded: the pipe is O_CLOEXEC). Closes the pipe; kills the helper if reading fails.
std::optional<Record> first_report(ScratchRoot& root, pid_t pid, int report, const std::string& what) {
  Record r{};
  bool got = false;
  try {
    got = read_record(report, r, what);
  } catch (...) {
    ::close(report);
    root.kill_process(pid);
    throw;
  }
  ::close(report);
  if (!got) return std::nullopt;
  return r;
}

// "inotifywait -m {}" with {} replaced by the paths (appended when there is no {}).
std::vector<std::string> command_argv(const std::string& command_template, const std::vector<std::string>& paths) {
  std::vector<std::string> argv;
  bool substituted = false;
  std::istringstream words(command_template);
  for (std::string w; words >> w;) {
    if (w == "{}") {
      argv.insert(argv.end(), paths.begin(), paths.end());
      substituted = true;
    } else {
      argv.push_back(w);
    }
  }
  if (!substituted) argv.insert(argv.end(), paths.begin(), paths.end());
  if (argv.empty()) throw Error("start_external_watcher: empty command");
  return argv;
}

}  // namespace

// A helper in a mount namespace of its own that holds a clone of `volume` at `target` and
// nothing else of the scratch roots; returns its pid and report pipe.
pid_t PodScenario::spawn_pinning_helper(const std::string& volume, const std::string& target, int* report,
                                        std::vector<std::string>& steps) {
  // Everything the child needs, prepared before fork.
  const std::vector<std::string> detach = scratch_root_mounts();
  steps = {"unshare(CLONE_NEWNS)", "mount(/, MS_REC|MS_PRIVATE)", "open_tree(" + volume + ", OPEN_TREE_CLONE)",
           "move_mount(-> " + target + ")"};
  for (const auto& d : detach) steps.push_back("umount2(" + d + ", MNT_DETACH)");
  const char* src = volume.c_str();
  const char* dst = target.c_str();
  std::vector<const char*> detach_c;
  for (const auto& d : detach) detach_c.push_back(d.c_str());
  return spawn_helper(root_, report, [&](int out) {
    // A mount namespace of its own. unshare copies our mount table, and copies of *shared*
    // mounts join their peer groups, so anything mounted here under a shared mount would
    // propagate back to the host: first make every copy private (affects only this namespace).
    if (::unshare(CLONE_NEWNS) != 0) child_fail(out, 0);
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) child_fail(out, 1);
    // Clone just the volume's mount (detached, not recursive)...
    int tree = ::open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (tree < 0) child_fail(out, 2);
    // ...drop this namespace's copies of every scratch root (with all pods' mounts in them), so
    // that it pins nothing but what we attach next. The directories stay visible: a scratch
    // root is a bind of itself, so below it is the same directory of the parent filesystem...
    for (size_t i = 0; i < detach_c.size(); ++i)
      if (::umount2(detach_c[i], MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
        child_fail(out, static_cast<int32_t>(4 + i));
    // ...and attach the clone there, at the requested directory.
    if (::move_mount(tree, "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH) != 0) child_fail(out, 3);
    ::close(tree);
    child_send(out, kReady, 0, 0);
    ::close(out);
    for (;;) ::pause();
  });
}

PodPaths PodScenario::pin_in_other_namespace(const PodPaths& p_in, const std::string& mount_point) {
  PodPaths p = p_in;
  auto known = pods_.find(p.uid);
  if (known != pods_.end()) p = known->second;
  const std::string target = mount_point.empty()
                                 ? root_.sub("other-ns/" + p.uid + "/" + basename_of(p.volume))
                                 : mount_point;
  auto procs = root_.processes();
  if (p.other_ns_pid > 0 && p.other_ns_mount == target &&
      std::find(procs.begin(), procs.end(), p.other_ns_pid) != procs.end())
    return p;  // already held there
  if (!is_mount_point(p.volume))
    throw Error("pin_in_other_namespace: " + p.volume + " is not mounted");
  mkdir_p(target);  // in our namespace, on the root's filesystem: the helper sees it too
  int report = -1;
  std::vector<std::string> steps;
  pid_t pid = spawn_pinning_helper(p.volume, target, &report, steps);
  std::optional<Record> r = first_report(root_, pid, report, "pin_in_other_namespace(" + target + ")");
  if (!r || r->kind != kReady) {
    root_.kill_process(pid);
    if (r && r->kind == kFailed && r->a >= 0 && static_cast<size_t>(r->a) < steps.size())
      throw Error("pin_in_other_namespace: helper: " + steps[static_cast<size_t>(r->a)] + ": " +
                  std::strerror(static_cast<int>(r->b)));
    throw Error("pin_in_other_namespace(" + target + "): the helper died");
  }
  p.other_ns_pid = pid;
  p.other_ns_mount = target;
  if (known != pods_.end()) known->second = p;
  return p;
}

void PodScenario::delete_pod_like_kubelet(const PodPaths& p, bool mounter_unmounts) {
  if (p.pod_dir.empty() || p.volume.empty())
    throw Error("delete_pod_like_kubelet: empty PodPaths");
  // Kubelet's volume manager unmounts its path (a plain umount: EBUSY is an error)...
  umount_if_mounted(p.volume);
  // ...the mounter does the same with its own copy, if it behaves...
  if (mounter_unmounts) {
    umount_if_mounted(p.mounter_volume);
    remove_tree_one_filesystem(p.mounter_pod_dir);
  }
  // ...and kubelet removes the pod directory, never crossing into a mount.
  remove_tree_one_filesystem(p.pod_dir);
  pods_.erase(p.uid);
}

Watcher PodScenario::start_watcher(const std::vector<std::string>& paths, uint32_t mask) {
  if (paths.empty()) throw Error("start_watcher: no paths");
  std::vector<const char*> cpaths;
  for (const auto& s : paths) cpaths.push_back(s.c_str());
  int report = -1;
  pid_t pid = spawn_helper(root_, &report, [&](int out) {
    int fd = ::inotify_init1(0);
    if (fd < 0) child_fail(out, 0);
    for (size_t i = 0; i < cpaths.size(); ++i) {
      int wd = ::inotify_add_watch(fd, cpaths[i], mask);
      if (wd < 0) child_fail(out, static_cast<int32_t>(1 + i));
      child_send(out, kWatchAdded, static_cast<int32_t>(i), static_cast<uint32_t>(wd));
    }
    child_send(out, kReady, fd, 0);
    alignas(inotify_event) char buf[8192];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) ::_exit(1);
      for (ssize_t off = 0; off < n;) {
        const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
        child_send(out, kEvent, ev->wd, ev->mask);
        off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
      }
    }
  });
  Watcher w;
  w.pid_ = pid;
  w.pipe_fd_ = report;  // closed by ~Watcher from here on
  try {
    Record r{};
    for (;;) {
      if (!read_record(report, r, "start_watcher"))
        throw Error("start_watcher: the watcher died");
      if (r.kind == kWatchAdded && r.a >= 0 && static_cast<size_t>(r.a) < paths.size()) {
        w.watches_.emplace_back(paths[static_cast<size_t>(r.a)], static_cast<int>(r.b));
      } else if (r.kind == kReady) {
        w.inotify_fd_ = r.a;
        break;
      } else if (r.kind == kFailed) {
        std::string what =
            r.a == 0 ? std::string("inotify_init1")
                     : "inotify_add_watch(" + paths.at(static_cast<size_t>(r.a - 1)) + ")";
        throw Error("start_watcher: " + what + ": " +
                                 std::strerror(static_cast<int>(r.b)));
      }
    }
    if (::fcntl(report, F_SETFL, O_NONBLOCK) != 0)
      throw_sys("fcntl(O_NONBLOCK)", "watcher pipe", errno);
  } catch (...) {
    root_.kill_process(pid);
    throw;
  }
  return w;
}

pid_t PodScenario::start_external_watcher(const std::string& command_template,
                                          const std::vector<std::string>& paths) {
  std::vector<std::string> argv = command_argv(command_template, paths);
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);

  int report = -1;
  pid_t pid = spawn_helper(root_, &report, [&](int out) {
    int null = ::open("/dev/null", O_RDWR);
    if (null < 0) child_fail(out, 1);
    for (int fd = 0; fd <= 2; ++fd)
      if (::dup2(null, fd) < 0) child_fail(out, 1);
    if (null > 2) ::close(null);
    ::execvp(cargv[0], cargv.data());
    child_fail(out, 0);
  });
  if (std::optional<Record> r = first_report(root_, pid, report, "start_external_watcher(" + argv[0] + ")")) {
    root_.kill_process(pid);  // a record is a failure report: EOF means exec succeeded
    throw Error(std::string("start_external_watcher: ") +
                (r->a == 0 ? "execvp(" + argv[0] + ")" : std::string("open(/dev/null)")) + ": " +
                std::strerror(static_cast<int>(r->b)));
  }
  // Started means set up: asleep waiting for events. Until then the watcher may still hold a
  // mount of what it watches (inotifywait lstat()s each path right after adding its watch, and
  // inotify_add_watch itself holds the path until it returns, after the watch is visible in
  // fdinfo), and kubelet's plain umount of the volume in that moment fails with EBUSY.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!waiting_for_events(pid)) {
    if (!process_running(pid)) {
      root_.kill_process(pid);  // reaps it
      throw Error("start_external_watcher(" + argv[0] + "): it exited while setting up");
    }
    if (std::chrono::steady_clock::now() > deadline) {
      root_.kill_process(pid);
      throw Error("start_external_watcher(" + argv[0] +
                  "): not waiting for events (read/poll/select/epoll) within 10 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return pid;
}

// ---- /proc readers --------------------------------------------------------------------------

std::vector<ProcessWatch> read_inotify_watches(pid_t pid) {
  std::vector<ProcessWatch> out;
  std::string fd_dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = ::opendir(fd_dir.c_str());
  if (!d) {
    if (errno == ENOENT || errno == ESRCH) return out;  // process gone
    throw_sys("opendir", fd_dir, errno);
  }
  std::vector<int> fds;
  while (dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') fds.push_back(std::atoi(e->d_name));
  ::closedir(d);
  std::sort(fds.begin(), fds.end());
  for (int fd : fds) {
    char link[256];
    std::string lp = fd_dir + "/" + std::to_string(fd);
    ssize_t n = ::readlink(lp.c_str(), link, sizeof link - 1);
    if (n < 0 || std::string_view(link, static_cast<size_t>(n)) != "anon_inode:inotify") continue;
    std::ifstream f("/proc/" + std::to_string(pid) + "/fdinfo/" + std::to_string(fd));
    if (!f) continue;  // closed meanwhile
    std::string text(std::istreambuf_iterator<char>(f), {});
    for (auto& w : parse_inotify_fdinfo(text).watches) out.push_back({fd, std::move(w)});
  }
  return out;
}

bool wait_for_watches(pid_t pid, size_t n, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (read_inotify_watches(pid).size() >= n) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace inotrace::repro
