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
#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>
#include <optional>
#include <unordered_map>

#include "paths/mount_namespaces.h"
#include "snapshot/fdinfo_parser.h"
#include "snapshot/file_handle_path.h"
#include "util/error.h"
#include "util/wall_clock.h"

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
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return errno;
    size_t len = 0;
    while (true) {
      if (len == buf_.size()) buf_.resize(buf_.size() * 2);
      ssize_t n = ::read(fd, buf_.data() + len, buf_.size() - len);
      if (n < 0) {
        if (errno == EINTR) continue;
        int e = errno;
        close(fd);
        return e;
      }
      if (n == 0) break;
      len += static_cast<size_t>(n);
    }
    close(fd);
    out = std::string_view(buf_.data(), len);
    return 0;
  }

 private:
  std::string buf_ = std::string(size_t{1} << 16, '\0');
};

struct ProcInfo {
  uint32_t pid = 0;
  std::string comm;
  uint32_t uid = 0;
  uint64_t mnt_ns = 0;
};

// One inotify fd as read.
struct RawFd {
  uint32_t pid = 0;
  int32_t fd = -1;
  size_t proc = 0;                   // index into the ProcInfo list
  std::vector<FdinfoWatch> watches;  // sorted by wd
  uint64_t hash = 0;                 // of the (wd, ino, dev, mask) list
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
  // "Uid:\t<real>\t<effective>\t<saved>\t<fs>"
  size_t at = text.starts_with("Uid:") ? 0 : text.find("\nUid:");
  if (at == std::string_view::npos) return false;
  text.remove_prefix(at + (text[at] == '\n' ? 5 : 4));
  size_t b = text.find_first_not_of(" \t");
  if (b == std::string_view::npos) return false;
  text.remove_prefix(b);
  size_t e = text.find_first_of(" \t\n");
  return parse_decimal(text.substr(0, e), info.uid);
}

struct ScanCounts {
  size_t other_processes = 0;
  int other_process_errno = 0;
  size_t other_fds = 0;
  int other_fd_errno = 0;
};

// Resolves every watch's path as its instance's first holder sees it.
class PathFiller {
 public:
  PathFiller(const std::string& proc, std::vector<std::string>* warnings)
      : proc_(proc), mns_(MountNamespaces::scan(warnings, proc)), resolver_(proc) {}

  void fill(SnapInstance& inst, const std::vector<FdinfoWatch>& fdinfo) {
    const View* view = nullptr;
    for (const Holder& h : inst.holders)
      if ((view = view_of(h))) break;
    for (size_t i = 0; i < inst.watches.size(); i++) {
      SnapWatch& w = inst.watches[i];
      const FdinfoWatch& fw = fdinfo[i];
      if (!fw.handle) {
        w.path_note = "no file handle in fdinfo (kernel without CONFIG_EXPORTFS?)";
        continue;
      }
      HandlePath r;
      const auto* cands = view ? &mounts(*view, w.dev) : nullptr;
      if (cands && !cands->empty()) {
        r = resolver_.resolve(view->key, view->pid, *cands, w.dev, w.ino, *fw.handle);
      } else {
        // Not mounted where the watcher looks: a filesystem that survives only in another mount
        // namespace (what pins a dead pod's volume). Resolve it as that namespace sees it.
        auto refs = mns_.mounts_of(w.dev);
        const NamespaceMounts* other = nullptr;
        for (const MountRef& ref : refs)
          if (!view || ref.ns != view->ns) {
            other = ref.ns;
            break;
          }
        if (!other && !refs.empty()) other = refs.front().ns;  // chrooted watcher: same ns, outside its root
        if (!other) {
          r = resolver_.resolve(0, 0, {}, w.dev, w.ino, *fw.handle);
        } else {
          const View& ov = ns_view(other);
          r = resolver_.resolve(ov.key, ov.pid, mounts(ov, w.dev), w.dev, w.ino, *fw.handle);
          if (!r.path.empty()) {
            const char* where = !view ? "watcher's mount namespace unknown"
                                : other == view->ns ? "not mounted below the watcher's root (chroot)"
                                                    : "mounted only in another mount namespace";
            r.note = r.note.empty() ? where : fmt::format("{}; {}", where, r.note);
          }
        }
      }
      w.path = std::move(r.path);
      w.path_note = std::move(r.note);
      if (!w.path.empty()) w.path_source = PathSource::FileHandle;
    }
  }

 private:
  // Mounts whose mount points are relative to the root of `pid`.
  struct View {
    uint64_t key = 0;
    uint32_t pid = 0;
    const NamespaceMounts* ns = nullptr;
    std::vector<MountEntry> own;  // a chrooted holder's own mountinfo; else ns->mounts is used
    bool has_own = false;
  };

  std::optional<std::pair<uint64_t, uint64_t>> root_of(uint32_t pid) {
    struct stat st;
    if (stat(fmt::format("{}/{}/root", proc_, pid).c_str(), &st) != 0) return std::nullopt;
    return std::pair<uint64_t, uint64_t>{st.st_dev, st.st_ino};
  }

  const View& ns_view(const NamespaceMounts* ns) {
    auto [it, inserted] = ns_views_.try_emplace(ns);
    if (inserted) {
      it->second.view.key = next_key_++;
      it->second.view.pid = ns->pid;
      it->second.view.ns = ns;
      it->second.root = root_of(ns->pid);
    }
    return it->second.view;
  }

  // The holder's view: its namespace's table, or its own mountinfo if its root differs from the
  // root of the process whose mountinfo represents the namespace (chroot). nullptr if unknown.
  const View* view_of(const Holder& h) {
    if (auto it = holder_views_.find(h.pid); it != holder_views_.end()) return it->second;
    const NamespaceMounts* ns = mns_.of_pid(h.pid);
    if (!ns && h.mnt_ns) ns = mns_.find(h.mnt_ns);
    const View* v = nullptr;
    if (ns) {
      ns_view(ns);
      NsView& nv = ns_views_[ns];
      auto root = root_of(h.pid);
      if (!root || !nv.root || *root == *nv.root) {
        v = &nv.view;
      } else {
        std::string_view text;
        int dir = open(fmt::format("{}/{}", proc_, h.pid).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dir >= 0 && reader_.read(dir, "mountinfo", text) == 0) {
          auto own = std::make_unique<View>();
          own->key = next_key_++;
          own->pid = h.pid;
          own->ns = ns;
          own->own = parse_mountinfo(text).mounts;
          own->has_own = true;
          v = own.get();
          own_views_.push_back(std::move(own));
        } else {
          v = &nv.view;
        }
        if (dir >= 0) close(dir);
      }
    }
    holder_views_[h.pid] = v;
    return v;
  }

  const std::vector<const MountEntry*>& mounts(const View& v, KernelDev dev) {
    auto [it, inserted] = mounts_.try_emplace(std::pair{v.key, dev.raw});
    if (inserted) {
      if (v.has_own) {
        for (const MountEntry& m : v.own)
          if (m.dev == dev) it->second.push_back(&m);
      } else {
        for (const MountRef& ref : mns_.mounts_of(dev))
          if (ref.ns == v.ns) it->second.push_back(ref.mount);
      }
    }
    return it->second;
  }

  struct NsView {
    View view;
    std::optional<std::pair<uint64_t, uint64_t>> root;
  };

  std::string proc_;
  MountNamespaces mns_;
  FileHandlePathResolver resolver_;
  FileReader reader_;
  uint64_t next_key_ = 1;
  std::unordered_map<const NamespaceMounts*, NsView> ns_views_;  // node-based: holder_views_ points in
  absl::flat_hash_map<uint32_t, const View*> holder_views_;
  std::vector<std::unique_ptr<View>> own_views_;
  absl::flat_hash_map<std::pair<uint64_t, uint32_t>, std::vector<const MountEntry*>> mounts_;
};

}  // namespace

int kcmp_same_file(uint32_t pid1, int32_t fd1, uint32_t pid2, int32_t fd2) {
  long r = syscall(SYS_kcmp, static_cast<pid_t>(pid1), static_cast<pid_t>(pid2), KCMP_FILE,
                   static_cast<unsigned long>(fd1), static_cast<unsigned long>(fd2));
  if (r < 0) return -errno;
  return r == 0 ? 0 : 1;
}

Snapshot take_procfs_snapshot(const ProcfsSourceOptions& opts) { return take_procfs_snapshot(opts, nullptr); }

Snapshot take_procfs_snapshot(const ProcfsSourceOptions& opts, ProcfsScanStats* stats_out) {
  Snapshot snap;
  snap.source = "procfs";
  snap.taken_mono_ns = WallClock::monotonic_now_ns();
  ProcfsScanStats stats;
  ScanCounts other;

  DIR* procdir = opendir(opts.proc.c_str());
  if (!procdir) throw Error(fmt::format("cannot list {}: {}", opts.proc, strerror(errno)));
  const int procfd = dirfd(procdir);

  std::vector<ProcInfo> procs;
  std::vector<RawFd> raw;
  FileReader reader;
  char link[kInotifyLink.size() + 1];
  char name[48];

  auto process_error = [&](int e) {
    if (vanished(e)) stats.vanished_processes++;
    else if (denied(e)) stats.denied_processes++;
    else {
      other.other_processes++;
      other.other_process_errno = e;
    }
  };
  size_t denied_fd_processes = 0;
  uint32_t last_denied_pid = 0;
  uint32_t pid = 0;
  auto fd_error = [&](int e) {
    if (vanished(e)) stats.vanished_fds++;
    else if (denied(e)) {
      stats.denied_fds++;
      if (last_denied_pid != pid) denied_fd_processes++;
      last_denied_pid = pid;
    }
    else {
      other.other_fds++;
      other.other_fd_errno = e;
    }
  };

  while (dirent* de = readdir(procdir)) {
    pid = 0;
    if (!parse_decimal(std::string_view(de->d_name), pid) || pid == 0) continue;
    stats.processes++;
    int piddir = openat(procfd, de->d_name, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (piddir < 0) {
      process_error(errno);
      continue;
    }
    int fddir = openat(piddir, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR* fds = fddir >= 0 ? fdopendir(fddir) : nullptr;
    if (!fds) {
      process_error(errno);
      if (fddir >= 0) close(fddir);
      close(piddir);
      continue;
    }
    std::optional<size_t> proc_idx;
    size_t first_raw = raw.size();
    bool gone = false;
    while (dirent* fe = readdir(fds)) {
      int32_t fd = -1;
      if (!parse_decimal(std::string_view(fe->d_name), fd)) continue;  // "." and ".."
      stats.fds++;
      // Fast reject: a link longer than the inotify one fills the buffer.
      ssize_t n = readlinkat(fddir, fe->d_name, link, sizeof(link));
      if (n < 0) {
        fd_error(errno);
        continue;
      }
      if (static_cast<size_t>(n) != kInotifyLink.size() || std::memcmp(link, kInotifyLink.data(), n) != 0) continue;
      if (!proc_idx) {
        ProcInfo info;
        info.pid = pid;
        if (!read_proc_info(reader, piddir, info)) {
          gone = true;
          break;
        }
        info.mnt_ns = mount_ns_of(pid, opts.proc);
        proc_idx = procs.size();
        procs.push_back(std::move(info));
      }
      fmt::format_to_n(name, sizeof(name) - 1, "fdinfo/{}", fd).out[0] = '\0';
      std::string_view text;
      if (int e = reader.read(piddir, name, text)) {
        fd_error(e);
        continue;
      }
      FdinfoParse parsed = parse_inotify_fdinfo(text);
      // The fd may have been closed and reused between the two reads: check it still is inotify.
      n = readlinkat(fddir, fe->d_name, link, sizeof(link));
      if (n != static_cast<ssize_t>(kInotifyLink.size()) || std::memcmp(link, kInotifyLink.data(), n) != 0) {
        stats.vanished_fds++;
        continue;
      }
      for (auto& w : parsed.warnings) snap.warnings.push_back(fmt::format("pid {} fd {}: {}", pid, fd, w));
      RawFd r;
      r.pid = pid;
      r.fd = fd;
      r.proc = *proc_idx;
      r.watches = std::move(parsed.watches);
      std::sort(r.watches.begin(), r.watches.end(),
                [](const FdinfoWatch& a, const FdinfoWatch& b) { return a.wd < b.wd; });
      r.hash = hash_watches(r.watches);
      raw.push_back(std::move(r));
      stats.inotify_fds++;
    }
    closedir(fds);
    close(piddir);
    if (gone) {  // exited while we read it: what we read of it is stale
      stats.inotify_fds -= raw.size() - first_raw;
      raw.resize(first_raw);
      stats.vanished_processes++;
    }
  }
  closedir(procdir);

  // De-duplicate: fds of one struct file (dup, fork, SCM_RIGHTS) are one instance. kcmp is only
  // asked about fds whose watch lists are identical, so the cost stays near-linear.
  std::sort(raw.begin(), raw.end(), [](const RawFd& a, const RawFd& b) {
    return a.pid != b.pid ? a.pid < b.pid : a.fd < b.fd;
  });
  const SameFileFn& same = opts.same_file ? opts.same_file : SameFileFn(kcmp_same_file);
  absl::flat_hash_map<uint64_t, std::vector<size_t>> buckets;  // watch-list hash -> instances
  std::vector<size_t> rep;                                     // instance -> its first RawFd
  bool fallback = false;
  int fallback_errno = 0;
  for (size_t i = 0; i < raw.size(); i++) {
    const RawFd& r = raw[i];
    auto& cands = buckets[r.hash];
    std::optional<size_t> match;
    for (size_t inst : cands) {
      const RawFd& first = raw[rep[inst]];
      if (!same_watches(first.watches, r.watches)) continue;  // hash collision
      if (!fallback) {
        stats.same_file_calls++;
        int res = same(first.pid, first.fd, r.pid, r.fd);
        if (res == 0) {
          match = inst;
          break;
        }
        if (res > 0 || res == -ESRCH || res == -EBADF) continue;  // different, or one just went away
        fallback = true;
        fallback_errno = -res;
      }
      // Without kcmp: identical watch lists are taken as one instance, except empty lists (any
      // two idle instances would match).
      if (!r.watches.empty()) {
        match = inst;
        break;
      }
    }
    const ProcInfo& p = procs[r.proc];
    Holder h{r.pid, r.fd, p.comm, p.uid, p.mnt_ns};
    if (match) {
      snap.instances[*match].holders.push_back(std::move(h));
      continue;
    }
    cands.push_back(snap.instances.size());
    rep.push_back(i);
    SnapInstance inst;
    inst.id = fmt::format("{}:{}", r.pid, r.fd);
    inst.holders.push_back(std::move(h));
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
    snap.instances.push_back(std::move(inst));
  }

  if (fallback)
    snap.warnings.push_back(fmt::format(
        "kcmp unavailable ({}): instances matched by identical watch lists instead, so distinct "
        "instances with the same watches may be merged and shared ones split (idle instances are "
        "never merged)",
        strerror(fallback_errno)));
  // As root, a refusal comes from ptrace access checks (another user namespace, an LSM, ...).
  const char* hint = geteuid() == 0 ? "ptrace access refused" : "run as root";
  if (stats.denied_processes)
    snap.warnings.push_back(
        fmt::format("{} processes skipped: permission denied ({})", stats.denied_processes, hint));
  if (stats.denied_fds)
    snap.warnings.push_back(fmt::format("{} fds of {} processes skipped: permission denied ({})", stats.denied_fds,
                                        denied_fd_processes, hint));
  if (other.other_processes)
    snap.warnings.push_back(fmt::format("{} processes skipped: {}", other.other_processes,
                                        strerror(other.other_process_errno)));
  if (other.other_fds)
    snap.warnings.push_back(fmt::format("{} fds skipped: {}", other.other_fds, strerror(other.other_fd_errno)));

  if (opts.with_paths && !snap.instances.empty()) {
    PathFiller filler(opts.proc, &snap.warnings);
    for (size_t i = 0; i < snap.instances.size(); i++) filler.fill(snap.instances[i], raw[rep[i]].watches);
  }
  if (stats_out) *stats_out = stats;
  return snap;
}

}  // namespace inotrace
