#include "snapshot/procfs_source.h"

#include <absl/container/flat_hash_map.h>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/kcmp.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <thread>
#include <unordered_map>

#include "paths/mount_views.h"
#include "paths/unnamed_reasons.h"
#include "snapshot/snapshot_paths.h"
#include "snapshot/fdinfo_parser.h"
#include "snapshot/proc_status.h"
#include "paths/file_handle_path.h"
#include "util/error.h"
#include "util/wall_clock.h"
#include "util/unique_fd.h"

namespace inotrace {
namespace {

constexpr std::string_view kInotifyLink = "anon_inode:inotify";

bool vanished(int e) { return e == ENOENT || e == ESRCH; }
bool denied(int e) { return e == EACCES || e == EPERM; }

template <typename T>
bool parse_decimal(std::string_view s, T& out) {
  if (s.empty() || s[0] < '0' || s[0] > '9') return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

// Whole small files (procfs) read with open/read into one reusable buffer: no iostreams on the
// hot path. A view stays valid until the next read.
class FileReader {
 public:
  int read(int dirfd, const char* name, std::string_view& out) {
    UniqueFd fd(openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!fd) return errno;
    size_t len = 0;
    while (true) {
      if (len == buf_.size()) buf_.resize(buf_.size() * 2);
      ssize_t n = ::read(fd.get(), buf_.data() + len, buf_.size() - len);
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno;
      }
      if (n == 0) break;
      len += static_cast<size_t>(n);
    }
    out = std::string_view(buf_.data(), len);
    return 0;
  }

 private:
  std::string buf_ = std::string(size_t{1} << 16, '\0');
};

struct ProcInfo {
  std::string comm;
  uint32_t uid = 0;
};

uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  return h * 0xff51afd7ed558ccdull;
}

uint64_t hash_watches(const std::vector<FdinfoWatch>& ws) {
  uint64_t h = ws.size();
  for (const auto& w : ws) {
    h = mix(h, static_cast<uint32_t>(w.wd));
    h = mix(h, w.ino);
    h = mix(h, (uint64_t{w.dev.raw} << 32) | w.mask);
  }
  return h;
}

bool same_watches(const std::vector<FdinfoWatch>& a, const std::vector<FdinfoWatch>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const FdinfoWatch& x, const FdinfoWatch& y) {
    return x.wd == y.wd && x.ino == y.ino && x.dev == y.dev && x.mask == y.mask;
  });
}

// Reads comm and the real uid; false if the process is gone (or unreadable).
bool read_proc_info(FileReader& reader, int piddir, ProcInfo& info) {
  std::string_view text;
  if (reader.read(piddir, "comm", text) != 0) return false;
  if (text.ends_with('\n')) text.remove_suffix(1);
  info.comm.assign(text);
  if (reader.read(piddir, "status", text) != 0) return false;
  auto uid = parse_status_real_uid(text);
  if (uid) info.uid = *uid;
  return uid.has_value();
}

struct ScanCounts {
  size_t other_processes = 0;
  int other_process_errno = 0;
  size_t other_fds = 0;
  int other_fd_errno = 0;
  size_t denied_fd_processes = 0;
};

// Threads: reading fdinfo costs mostly the kernel formatting it (about twice its size: seq_file
// retries with a doubled buffer until the whole file fits), and paths cost two syscalls per
// watch; both scale with cores. Small jobs stay on the calling thread.
constexpr size_t kMaxThreads = 8;

size_t worker_count(size_t items, size_t per_worker, unsigned max_threads) {
  size_t cap = max_threads ? max_threads : std::min<size_t>(std::max(1u, std::thread::hardware_concurrency()), kMaxThreads);
  return std::clamp<size_t>(items / per_worker, 1, cap);
}

// Runs fn(0..n-1) concurrently (fn(0) on the calling thread). Workers pull work from a shared
// counter, so if a thread cannot be created the others still finish everything.
template <typename Fn>
void run_workers(size_t n, Fn&& fn) {
  std::vector<std::thread> threads;
  std::exception_ptr error;
  std::mutex mu;
  auto guarded = [&](size_t i) {
    try {
      fn(i);
    } catch (...) {
      std::lock_guard lock(mu);
      if (!error) error = std::current_exception();
    }
  };
  for (size_t i = 1; i < n; i++) {
    try {
      threads.emplace_back(guarded, i);
    } catch (const std::system_error&) {
      break;
    }
  }
  guarded(0);
  for (auto& t : threads) t.join();
  if (error) std::rethrow_exception(error);
}

// One inotify fd as read.
struct RawFd {
  Holder holder;
  std::vector<FdinfoWatch> watches;  // sorted by wd
  uint64_t hash = 0;                 // of the (wd, ino, dev, mask) list
  std::vector<std::string> warnings;
};

// Reads the inotify fds of processes (one Scanner per worker thread).
class Scanner {
 public:
  Scanner(int procfd, const std::string& proc) : procfd_(procfd), proc_(proc) {}

  void scan(uint32_t pid) {
    char name[16];
    *std::to_chars(name, name + sizeof(name) - 1, pid).ptr = '\0';
    UniqueFd pid_fd(openat(procfd_, name, O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!pid_fd) {
      process_error(errno);
      return;
    }
    const int piddir = pid_fd.get();
    UniqueFd fd_dir(openat(piddir, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    const int fddir = fd_dir.get();
    DIR* fds = fd_dir ? fdopendir(fddir) : nullptr;
    if (!fds) {
      process_error(errno);
      return;
    }
    fd_dir.release();  // the DIR owns it now
    std::optional<Holder> holder;
    const size_t first = raw.size();
    bool gone = false, denied_here = false;
    char link[kInotifyLink.size() + 1];
    while (dirent* fe = readdir(fds)) {
      int32_t fd = -1;
      if (!parse_decimal(std::string_view(fe->d_name), fd)) continue;  // "." and ".."
      stats.fds++;
      // A link longer than the inotify one fills the buffer: no match, no allocation.
      ssize_t n = readlinkat(fddir, fe->d_name, link, sizeof(link));
      if (n < 0) {
        if (denied(errno) && !denied_here) {
          denied_here = true;
          other.denied_fd_processes++;
        }
        fd_error(errno);
        continue;
      }
      if (!is_inotify(link, n)) continue;
      if (!holder && !(holder = holder_of(pid, piddir))) {
        gone = true;
        break;
      }
      if (auto r = read_inotify_fd(piddir, fddir, fe->d_name, fd, *holder)) {
        raw.push_back(std::move(*r));
        stats.inotify_fds++;
      }
    }
    closedir(fds);
    if (gone) {  // exited while we read it: what we read of it is stale
      stats.inotify_fds -= raw.size() - first;
      raw.resize(first);
      stats.vanished_processes++;
    }
  }

  // comm and uid, read only for processes holding inotify fds; nullopt if it exited.
  std::optional<Holder> holder_of(uint32_t pid, int piddir) {
    ProcInfo info;
    if (!read_proc_info(reader_, piddir, info)) return std::nullopt;
    return Holder{pid, 0, std::move(info.comm), info.uid, mount_ns_of(pid, proc_)};
  }

  // One inotify fd's watches from its fdinfo, sorted by wd; nullopt if it could not be read or
  // stopped being inotify meanwhile (closed, its number reused).
  std::optional<RawFd> read_inotify_fd(int piddir, int fddir, const char* name, int32_t fd, const Holder& holder) {
    char fdinfo[32];
    std::memcpy(fdinfo, "fdinfo/", 7);
    *std::to_chars(fdinfo + 7, fdinfo + sizeof(fdinfo) - 1, fd).ptr = '\0';
    std::string_view text;
    if (int e = reader_.read(piddir, fdinfo, text)) {
      fd_error(e);
      return std::nullopt;
    }
    FdinfoParse parsed = parse_inotify_fdinfo(text);
    char link[kInotifyLink.size() + 1];
    ssize_t n = readlinkat(fddir, name, link, sizeof(link));
    if (n < 0 || !is_inotify(link, n)) {
      stats.vanished_fds++;
      return std::nullopt;
    }
    RawFd r;
    r.holder = holder;
    r.holder.fd = fd;
    r.watches = std::move(parsed.watches);
    std::sort(r.watches.begin(), r.watches.end(), [](const FdinfoWatch& a, const FdinfoWatch& b) { return a.wd < b.wd; });
    r.hash = hash_watches(r.watches);
    r.warnings = std::move(parsed.warnings);
    return r;
  }

  std::vector<RawFd> raw;
  ProcfsScanStats stats;
  ScanCounts other;

 private:
  static bool is_inotify(const char* link, ssize_t n) {
    return static_cast<size_t>(n) == kInotifyLink.size() && std::memcmp(link, kInotifyLink.data(), n) == 0;
  }
  void process_error(int e) {
    if (vanished(e)) {
      stats.vanished_processes++;
    } else if (denied(e)) {
      stats.denied_processes++;
    } else {
      other.other_processes++;
      other.other_process_errno = e;
    }
  }
  void fd_error(int e) {
    if (vanished(e)) {
      stats.vanished_fds++;
    } else if (denied(e)) {
      stats.denied_fds++;
    } else {
      other.other_fds++;
      other.other_fd_errno = e;
    }
  }

  int procfd_;
  const std::string& proc_;
  FileReader reader_;
};

void add_stats(ProcfsScanStats& to, const ProcfsScanStats& s) {
  to.fds += s.fds;
  to.inotify_fds += s.inotify_fds;
  to.vanished_processes += s.vanished_processes;
  to.vanished_fds += s.vanished_fds;
  to.denied_processes += s.denied_processes;
  to.denied_fds += s.denied_fds;
}

void add_counts(ScanCounts& to, const ScanCounts& c) {
  to.other_processes += c.other_processes;
  if (c.other_process_errno) to.other_process_errno = c.other_process_errno;
  to.other_fds += c.other_fds;
  if (c.other_fd_errno) to.other_fd_errno = c.other_fd_errno;
  to.denied_fd_processes += c.denied_fd_processes;
}

// Decides, for every watch, through which mounts (of which view) its handle is resolved; the
// resolutions themselves then run in parallel.
class PathPlanner {
 public:
  struct Job {
    SnapWatch* watch = nullptr;
    const FileHandle* handle = nullptr;
    uint64_t view = 0;
    uint32_t pid = 0;
    const std::vector<const MountEntry*>* mounts = nullptr;  // nullptr: mounted nowhere
    std::string_view where;     // prefix for the note of a path found outside the watcher's view
    size_t same_as = SIZE_MAX;  // index of an earlier job for the same inode in the same view
  };

  explicit PathPlanner(const NodeView& node) : views_(node) {}

  // Paths as the instance's first holder (with a known mount namespace) sees them.
  void plan(SnapInstance& inst, const std::vector<FdinfoWatch>& fdinfo, std::vector<Job>& jobs) {
    const MountView* own = watcher_view(inst, views_);
    for (size_t i = 0; i < inst.watches.size(); i++) {
      SnapWatch& w = inst.watches[i];
      const FdinfoWatch& fw = fdinfo[i];
      if (!fw.handle) {
        w.path_note = unnamed::kNoFileHandle;
        continue;
      }
      Job job{&w, &*fw.handle};
      MountChoice choice = views_.choose(own, w.dev);
      if (choice.view) {
        job.view = choice.view->key;
        job.pid = choice.view->pid;
        job.mounts = choice.mounts;
        job.where = intern(std::move(choice.where));
      }
      push(job, jobs);
    }
  }

 private:
  // The same inode watched by many instances (common: /etc, a project tree) is resolved once.
  void push(Job& job, std::vector<Job>& jobs) {
    auto [it, inserted] = first_job_.try_emplace(std::tuple{job.view, job.watch->dev.raw, job.watch->ino}, jobs.size());
    if (!inserted) job.same_as = it->second;
    jobs.push_back(job);
  }
  // Few distinct notes (one per other namespace): kept once, pointed to by the jobs.
  std::string_view intern(std::string s) {
    if (s.empty()) return {};
    return *notes_.insert(std::move(s)).first;
  }

  MountViews views_;
  std::set<std::string> notes_;
  absl::flat_hash_map<std::tuple<uint64_t, uint32_t, uint64_t>, size_t> first_job_;  // (view, dev, ino)
};

// Groups inotify fds into instances: two fds are one instance iff they are one struct file.
// Only fds with identical watch lists are compared, and within such a group the instances are
// kept sorted in kcmp's order (a total order on the obfuscated struct file pointers), so an fd
// costs O(log k) kcmp calls even when k distinct instances watch the same things (idle
// instances; many processes watching /etc/localtime).
class InstanceMatcher {
 public:
  InstanceMatcher(const SameFileFn& same, const std::vector<RawFd>& raw, ProcfsScanStats& stats)
      : same_(same), raw_(raw), stats_(stats) {}

  // The instance raw[i] belongs to, or nullopt if it is a new one (which the caller appends as
  // instance number `next`). Call in raw order, with next = the number of instances so far.
  std::optional<size_t> match(size_t i, size_t next) {
    const RawFd& r = raw_[i];
    auto& groups = groups_[r.hash];
    Group* g = nullptr;
    for (Group& x : groups)
      if (same_watches(raw_[x.first_raw].watches, r.watches)) g = &x;  // else: a hash collision
    if (!g) {
      groups.push_back(Group{i, {}, true});
      g = &groups.back();
    }
    std::vector<size_t>& m = g->members;
    if (!fallback_ && g->ordered) {
      size_t lo = 0, hi = m.size();
      while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int res = compare(m[mid], r);
        if (res == 0) return m[mid];
        if (res == 1) lo = mid + 1;         // the member's file orders before r's
        else if (res == 2) hi = mid;
        else {
          g->ordered = false;  // unordered answer, a holder gone, or no kcmp: scan linearly
          break;
        }
      }
      if (g->ordered) {
        m.insert(m.begin() + static_cast<std::ptrdiff_t>(lo), next);
        rep_.push_back(i);
        return std::nullopt;
      }
    }
    for (size_t inst : m) {
      if (fallback_) break;
      if (compare(inst, r) == 0) return inst;
    }
    // Without kcmp: identical watch lists are taken as one instance, except empty lists (any two
    // idle instances would match).
    if (fallback_ && !r.watches.empty() && !m.empty()) return m.front();
    m.push_back(next);
    rep_.push_back(i);
    return std::nullopt;
  }

  bool fallback() const { return fallback_; }
  int fallback_errno() const { return fallback_errno_; }

 private:
  struct Group {
    size_t first_raw;
    std::vector<size_t> members;  // instances; sorted in kcmp order while `ordered`
    bool ordered;
  };

  // 0 same, 1/2 different and ordered, 3 different (unordered, or one side vanished), 4 kcmp
  // unusable (fallback_ is set).
  int compare(size_t inst, const RawFd& r) {
    const Holder& a = raw_[rep_[inst]].holder;
    stats_.same_file_calls++;
    int res = same_(a.pid, a.fd, r.holder.pid, r.holder.fd);
    if (res >= 0 && res <= 2) return res;
    if (res > 0 || res == -ESRCH || res == -EBADF) return 3;
    fallback_ = true;
    fallback_errno_ = -res;
    return 4;
  }

  const SameFileFn& same_;
  const std::vector<RawFd>& raw_;
  ProcfsScanStats& stats_;
  absl::flat_hash_map<uint64_t, std::vector<Group>> groups_;  // watch-list hash -> groups
  std::vector<size_t> rep_;                                     // instance -> its first RawFd
  bool fallback_ = false;
  int fallback_errno_ = 0;
};

void resolve_paths(const std::string& proc, const std::vector<PathPlanner::Job>& jobs, unsigned max_threads) {
  std::vector<HandlePath> results(jobs.size());
  constexpr size_t kChunk = 128;
  std::atomic<size_t> next{0};
  const size_t workers = worker_count(jobs.size(), 2048, max_threads);
  run_workers(workers, [&](size_t) {
    FileHandlePathResolver resolver(proc, static_cast<unsigned>(workers));  // per thread: its own fds
    while (true) {
      size_t begin = next.fetch_add(kChunk);
      if (begin >= jobs.size()) break;
      for (size_t i = begin; i < std::min(jobs.size(), begin + kChunk); i++) {
        const PathPlanner::Job& job = jobs[i];
        if (job.same_as != SIZE_MAX) continue;
        std::span<const MountEntry* const> mounts;
        if (job.mounts) mounts = *job.mounts;
        results[i] = resolver.resolve(job.view, job.pid, mounts, job.watch->dev, job.watch->ino, *job.handle);
      }
    }
  });
  // Copies for the repeats first (their originals are earlier), then moves for the originals.
  for (size_t pass = 0; pass < 2; pass++) {
    for (size_t i = 0; i < jobs.size(); i++) {
      const PathPlanner::Job& job = jobs[i];
      if ((job.same_as != SIZE_MAX) != (pass == 0)) continue;
      HandlePath r = pass == 0 ? results[job.same_as] : std::move(results[i]);
      if (!r.path.empty() && !job.where.empty())
        r.note = r.note.empty() ? std::string(job.where) : fmt::format("{}; {}", job.where, r.note);
      SnapWatch& w = *job.watch;
      w.path = std::move(r.path);
      w.path_note = std::move(r.note);
      if (!w.path.empty()) w.path_source = PathSource::FileHandle;
    }
  }
}

}  // namespace

int kcmp_same_file(uint32_t pid1, int32_t fd1, uint32_t pid2, int32_t fd2) {
  long r = syscall(SYS_kcmp, static_cast<pid_t>(pid1), static_cast<pid_t>(pid2), KCMP_FILE,
                   static_cast<unsigned long>(fd1), static_cast<unsigned long>(fd2));
  if (r < 0) return -errno;
  return static_cast<int>(r);
}

Snapshot take_procfs_snapshot(const ProcfsSourceOptions& opts) { return take_procfs_snapshot(opts, nullptr); }

namespace {

std::vector<uint32_t> list_pids(DIR* procdir) {
  std::vector<uint32_t> pids;
  while (dirent* de = readdir(procdir)) {
    uint32_t pid = 0;
    if (parse_decimal(std::string_view(de->d_name), pid) && pid != 0) pids.push_back(pid);
  }
  return pids;
}

// Every inotify fd of every process, sorted by (pid, fd), with the scanners' counts. Most
// processes hold no inotify fd: the cost is in the few that hold many watches, so workers take
// small batches and one big holder does not leave the others idle.
std::vector<RawFd> scan_processes(const ProcfsSourceOptions& opts, ProcfsScanStats& stats, ScanCounts& other) {
  DIR* procdir = opendir(opts.proc.c_str());
  if (!procdir) throw Error(fmt::format("cannot list {}: {}", opts.proc, strerror(errno)));
  std::vector<uint32_t> pids = list_pids(procdir);
  stats.processes = pids.size();
  std::vector<std::unique_ptr<Scanner>> scanners;
  size_t workers = worker_count(pids.size(), 16, opts.max_threads);
  for (size_t i = 0; i < workers; i++) scanners.push_back(std::make_unique<Scanner>(dirfd(procdir), opts.proc));
  std::atomic<size_t> next{0};
  try {
    run_workers(workers, [&](size_t w) {
      constexpr size_t kBatch = 4;
      while (true) {
        size_t begin = next.fetch_add(kBatch);
        if (begin >= pids.size()) break;
        for (size_t i = begin; i < std::min(pids.size(), begin + kBatch); i++) scanners[w]->scan(pids[i]);
      }
    });
  } catch (...) {
    closedir(procdir);
    throw;
  }
  closedir(procdir);
  std::vector<RawFd> raw;
  for (auto& sc : scanners) {
    add_stats(stats, sc->stats);
    add_counts(other, sc->other);
    for (auto& r : sc->raw) raw.push_back(std::move(r));
  }
  std::sort(raw.begin(), raw.end(), [](const RawFd& a, const RawFd& b) {
    return a.holder.pid != b.holder.pid ? a.holder.pid < b.holder.pid : a.holder.fd < b.holder.fd;
  });
  return raw;
}

SnapInstance instance_of(const RawFd& r) {
  SnapInstance inst;
  inst.id = fmt::format("{}:{}", r.holder.pid, r.holder.fd);
  inst.holders.push_back(r.holder);
  // ucount stays unknown: the charged user is the euid at inotify_init time, which /proc
  // does not show, and there is no per-user count in fdinfo (iterator source only).
  inst.watches.reserve(r.watches.size());
  for (const FdinfoWatch& fw : r.watches) {
    SnapWatch w;
    w.wd = fw.wd;
    w.ino = fw.ino;
    w.dev = fw.dev;
    w.mask = fw.mask;  // old kernels omit IN_ONESHOT / IN_EXCL_UNLINK here: kept as printed
    inst.watches.push_back(std::move(w));
  }
  return inst;
}

// Fds of one struct file (dup, fork, SCM_RIGHTS) are one instance. kcmp is only asked about fds
// whose watch lists are identical, so the cost stays near-linear. Returns, per instance, the
// index of its first fd in `raw`.
std::vector<size_t> group_instances(const ProcfsSourceOptions& opts, const std::vector<RawFd>& raw, ProcfsScanStats& stats,
                                    Snapshot& snap) {
  const SameFileFn& same = opts.same_file ? opts.same_file : SameFileFn(kcmp_same_file);
  InstanceMatcher matcher(same, raw, stats);
  std::vector<size_t> first_fd;
  for (size_t i = 0; i < raw.size(); i++) {
    if (std::optional<size_t> match = matcher.match(i, snap.instances.size())) {
      snap.instances[*match].holders.push_back(raw[i].holder);
      continue;
    }
    first_fd.push_back(i);
    snap.instances.push_back(instance_of(raw[i]));
  }
  if (matcher.fallback())
    snap.warnings.push_back(fmt::format(
        "kcmp unavailable ({}): instances matched by identical watch lists instead, so distinct "
        "instances with the same watches may be merged and shared ones split (idle instances are "
        "never merged)",
        strerror(matcher.fallback_errno())));
  return first_fd;
}

void warn_skipped(const ProcfsScanStats& stats, const ScanCounts& other, std::vector<std::string>& warnings) {
  // As root, a refusal comes from ptrace access checks (another user namespace, an LSM, ...).
  const char* hint = geteuid() == 0 ? "ptrace access refused" : "run as root";
  if (stats.denied_processes)
    warnings.push_back(fmt::format("{} processes skipped: permission denied ({})", stats.denied_processes, hint));
  if (stats.denied_fds)
    warnings.push_back(fmt::format("{} fds of {} processes skipped: permission denied ({})", stats.denied_fds,
                                   other.denied_fd_processes, hint));
  if (other.other_processes)
    warnings.push_back(fmt::format("{} processes skipped: {}", other.other_processes, strerror(other.other_process_errno)));
  if (other.other_fds) warnings.push_back(fmt::format("{} fds skipped: {}", other.other_fds, strerror(other.other_fd_errno)));
}

}  // namespace

Snapshot take_procfs_snapshot(const ProcfsSourceOptions& opts, ProcfsScanStats* stats_out) {
  Snapshot snap;
  snap.source = "procfs";
  snap.taken_mono_ns = WallClock::monotonic_now_ns();
  ProcfsScanStats stats;
  ScanCounts other;
  std::vector<RawFd> raw = scan_processes(opts, stats, other);
  for (const RawFd& r : raw)
    for (const auto& w : r.warnings) snap.warnings.push_back(fmt::format("pid {} fd {}: {}", r.holder.pid, r.holder.fd, w));
  std::vector<size_t> first_fd = group_instances(opts, raw, stats, snap);
  warn_skipped(stats, other, snap.warnings);
  snap.denied_processes = stats.denied_processes + other.denied_fd_processes;
  if (opts.with_paths && !snap.instances.empty()) {
    ProcNodeView own_node(opts.proc);
    NodeView& node = opts.node ? *opts.node : own_node;
    node.refresh(&snap.warnings);
    PathPlanner planner(node);
    std::vector<PathPlanner::Job> jobs;
    jobs.reserve(snap.watch_count());
    for (size_t i = 0; i < snap.instances.size(); i++) planner.plan(snap.instances[i], raw[first_fd[i]].watches, jobs);
    resolve_paths(opts.proc, jobs, opts.max_threads);
  }
  if (stats_out) *stats_out = stats;
  return snap;
}

}  // namespace inotrace
