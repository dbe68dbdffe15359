// take_procfs_snapshot against a real population: forked children holding inotify instances
// on a private tmpfs, the root filesystem, a bind mount, a tmpfs mounted only in a child's own
// mount namespace, a procfs directory; one instance shared by fork, one by dup. Every
// (pid, fd, wd, ino, dev, mask) and path must be exactly what the test created.
#include <absl/cleanup/cleanup.h>
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "loader/environment.h"
#include "paths/mount_namespaces.h"
#include <bpf/libbpf.h>

#include "loader/preflight.h"
#include "paths/file_handle_path.h"
#include "snapshot/procfs_source.h"
#include "snapshot/snapshot_taker.h"
#include "support/live_support.h"
#include "util/proc_stat.h"

namespace inotrace::testing {
namespace {

#define PROCFS_REQUIRE_ROOT()                                                 \
  do {                                                                        \
    if (geteuid() != 0) GTEST_SKIP() << "SKIPPED (live tier): needs root";    \
  } while (0)

constexpr int kReleaseFd = 100;  // in a child: EOF here means "exit now"
constexpr int kReportFd = 101;   // in a child: where its report goes

// A forked helper. `setup` runs in the child (with fds 3.. free, so its first inotify fd is 3)
// and fills a report; the child then sleeps until the parent destroys this object (or dies:
// PR_SET_PDEATHSIG), reaping its own children (the fork-shared holder) before exiting.
class Child {
 public:
  using Setup = std::function<bool(std::vector<int64_t>& report)>;
  explicit Child(Setup setup) {
    int rel[2], rep[2];
    if (pipe2(rel, O_CLOEXEC) != 0 || pipe2(rep, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork");
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      // Park both ends above the fixed numbers first: the parent may already use fds 100/101
      // (other children's pipes), and dup2 onto one of ours would close it.
      int r = fcntl(rel[0], F_DUPFD, 1000), w = fcntl(rep[1], F_DUPFD, 1000);
      if (r < 0 || w < 0 || dup2(r, kReleaseFd) < 0 || dup2(w, kReportFd) < 0) _exit(3);
      close_range(3, kReleaseFd - 1, 0);  // other children's pipes, the test's own fds
      close_range(kReportFd + 1, ~0u, 0);
      std::vector<int64_t> report;
      int64_t n = -1;
      if (setup(report)) n = static_cast<int64_t>(report.size());
      (void)!write(kReportFd, &n, sizeof(n));
      if (n > 0) (void)!write(kReportFd, report.data(), report.size() * sizeof(int64_t));
      close(kReportFd);
      char c;
      while (read(kReleaseFd, &c, 1) > 0) {
      }
      while (wait(nullptr) > 0) {
      }
      _exit(n < 0);
    }
    close(rel[0]);
    close(rep[1]);
    release_ = rel[1];
    int64_t n = -1;
    if (read(rep[0], &n, sizeof(n)) == sizeof(n) && n > 0) {
      report_.resize(n);
      size_t want = n * sizeof(int64_t), got = 0;
      while (got < want) {
        ssize_t r = read(rep[0], reinterpret_cast<char*>(report_.data()) + got, want - got);
        if (r <= 0) break;
        got += r;
      }
      ok_ = got == want;
    } else {
      ok_ = n == 0;
    }
    close(rep[0]);
    if (!ok_) {  // say why: the child exited or was killed before reporting
      int status = 0;
      pid_t got = 0;
      for (int i = 0; i < 100 && (got = waitpid(pid_, &status, WNOHANG)) == 0; i++)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      if (got == 0) {
        kill(pid_, SIGKILL);
        got = waitpid(pid_, &status, 0);
      }
      if (got == pid_) {
        reaped_ = true;
        failure_ = WIFSIGNALED(status) ? "killed by signal " + std::to_string(WTERMSIG(status))
                                       : "exited with " + std::to_string(WEXITSTATUS(status));
      }
    }
  }
  ~Child() {
    close(release_);
    if (reaped_) return;
    for (int i = 0; i < 200; i++) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  uint32_t pid() const { return static_cast<uint32_t>(pid_); }
  bool ok() const { return ok_; }
  const std::string& failure() const { return failure_; }
  int64_t at(size_t i) const { return i < report_.size() ? report_[i] : -1; }

 private:
  pid_t pid_ = -1;
  int release_ = -1;
  bool ok_ = false;
  bool reaped_ = false;
  std::string failure_;
  std::vector<int64_t> report_;
};

class MountGuard {
 public:
  MountGuard(const std::string& source, const std::string& target, const char* fstype, unsigned long flags)
      : target_(target) {
    ok_ = mount(source.c_str(), target.c_str(), fstype, flags, nullptr) == 0;
  }
  ~MountGuard() {
    if (ok_) umount2(target_.c_str(), MNT_DETACH);
  }
  bool ok() const { return ok_; }
  void detach() {
    if (ok_) umount2(target_.c_str(), MNT_DETACH);
    ok_ = false;
  }

 private:
  std::string target_;
  bool ok_ = false;
};

// A directory on the filesystem mounted at "/", or "" if none of the usual places is on it.
class RootFsDir {
 public:
  RootFsDir() {
    struct stat root{};
    if (stat("/", &root) != 0) return;
    for (const char* base : {"/tmp", "/var/tmp", "/root"}) {
      struct stat st{};
      if (stat(base, &st) != 0 || st.st_dev != root.st_dev) continue;
      std::string tmpl = std::string(base) + "/inotrace-procfs-rootfs.XXXXXX";
      if (mkdtemp(tmpl.data())) {
        path_ = tmpl;
        return;
      }
    }
  }
  ~RootFsDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void name_self(const std::string& comm) { prctl(PR_SET_NAME, comm.c_str()); }

struct ExpectedWatch {
  int wd;
  uint64_t ino;
  KernelDev dev;
  uint32_t mask;
  std::string path;
  std::string note;
};

struct ExpectedInstance {
  std::vector<std::pair<uint32_t, int32_t>> holders;  // sorted
  std::vector<ExpectedWatch> watches;                 // by wd
};

const SnapInstance* find_instance(const Snapshot& s, uint32_t pid, int32_t fd) {
  for (const auto& i : s.instances)
    for (const auto& h : i.holders)
      if (h.pid == pid && h.fd == fd) return &i;
  return nullptr;
}

void expect_instance(const Snapshot& s, const ExpectedInstance& e, const std::string& what) {
  SCOPED_TRACE(what);
  const auto& [pid, fd] = e.holders.front();
  const SnapInstance* inst = find_instance(s, pid, fd);
  ASSERT_NE(inst, nullptr) << "no instance for " << pid << ":" << fd;
  EXPECT_EQ(inst->id, std::to_string(pid) + ":" + std::to_string(fd));
  EXPECT_EQ(inst->group, 0u);
  EXPECT_EQ(inst->ucount.count, -1);
  EXPECT_EQ(inst->ucount.uid, UINT32_MAX);
  std::vector<std::pair<uint32_t, int32_t>> holders;
  for (const auto& h : inst->holders) {
    holders.emplace_back(h.pid, h.fd);
    EXPECT_EQ(h.uid, 0u);
    EXPECT_EQ(h.mnt_ns, mount_ns_of(h.pid));
    EXPECT_NE(h.comm, "");
  }
  EXPECT_EQ(holders, e.holders);
  ASSERT_EQ(inst->watches.size(), e.watches.size());
  for (size_t i = 0; i < e.watches.size(); i++) {
    const SnapWatch& w = inst->watches[i];
    const ExpectedWatch& x = e.watches[i];
    SCOPED_TRACE(x.path);
    EXPECT_EQ(w.wd, x.wd);
    EXPECT_EQ(w.ino, x.ino);
    EXPECT_EQ(w.dev, x.dev) << w.dev.str() << " vs " << x.dev.str();
    EXPECT_EQ(w.mask, x.mask) << std::hex << w.mask << " vs " << x.mask;
    if (x.note.starts_with("no decodable")) {
      EXPECT_EQ(w.path, "");
      EXPECT_EQ(w.path_source, PathSource::None);
    } else {
      EXPECT_EQ(w.path, x.path);
      EXPECT_EQ(w.path_source, PathSource::FileHandle);
    }
    EXPECT_EQ(w.path_note, x.note);
  }
}

size_t instances_of(const Snapshot& s, const std::set<uint32_t>& pids) {
  size_t n = 0;
  for (const auto& i : s.instances)
    for (const auto& h : i.holders)
      if (pids.count(h.pid)) {
        n++;
        break;
      }
  return n;
}

TEST(ProcfsSourceLive, RealPopulationMatchesWhatWasCreated) {
  PROCFS_REQUIRE_ROOT();
  TempDir td("inotrace-procfs");
  const std::string base = std::filesystem::canonical(td.path()).string();
  RootFsDir rootfs;

  // A private tmpfs.
  const std::string tmp = td.mkdir("tmpfs");
  MountGuard tmpfs("tmpfs", tmp, "tmpfs", 0);
  ASSERT_TRUE(tmpfs.ok()) << strerror(errno);
  for (const char* d : {"a", "b", "gone"}) ASSERT_EQ(::mkdir((tmp + "/" + d).c_str(), 0755), 0);
  { std::ofstream(tmp + "/file") << "x"; }
  { std::ofstream(tmp + "/unlinked") << "x"; }

  // A bind mount of a subtree of a tmpfs that is then unmounted: the bind (root "/sub") is the
  // only way to reach it.
  const std::string bsrc = td.mkdir("bsrc"), bind = td.mkdir("bind");
  MountGuard bsrc_mount("tmpfs", bsrc, "tmpfs", 0);
  ASSERT_TRUE(bsrc_mount.ok());
  ASSERT_EQ(::mkdir((bsrc + "/sub").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((bsrc + "/sub/in").c_str(), 0755), 0);
  MountGuard bind_mount(bsrc + "/sub", bind, nullptr, MS_BIND);
  ASSERT_TRUE(bind_mount.ok());
  bsrc_mount.detach();

  // A bind mount of a single file (as containers get /etc/resolv.conf), its tmpfs unmounted.
  const std::string fsrc = td.mkdir("fsrc"), fbind = td.touch("fbind");
  MountGuard fsrc_mount("tmpfs", fsrc, "tmpfs", 0);
  ASSERT_TRUE(fsrc_mount.ok());
  { std::ofstream(fsrc + "/f") << "x"; }
  MountGuard fbind_mount(fsrc + "/f", fbind, nullptr, MS_BIND);
  ASSERT_TRUE(fbind_mount.ok());
  fsrc_mount.detach();

  const std::string nsmnt = td.mkdir("nsmnt");  // empty here; a tmpfs inside child 4's namespace
  const std::string rootdir = rootfs.path().empty() ? "" : rootfs.path() + "/watched";
  if (!rootdir.empty()) {
    ASSERT_EQ(::mkdir(rootdir.c_str(), 0755), 0);
  }
  const std::string procdir = "/proc/sys/fs/inotify";

  std::map<std::string, Target> t;
  for (const std::string& p : {tmp + "/a", tmp + "/b", tmp + "/gone", tmp + "/file", tmp + "/unlinked",
                               bind + "/in", fbind, procdir})
    t[p] = stat_target(p);
  if (!rootdir.empty()) t[rootdir] = stat_target(rootdir);

  const uint32_t m1 = IN_CREATE | IN_DELETE, m2 = IN_ALL_EVENTS | IN_ONESHOT, m3 = IN_MODIFY | IN_EXCL_UNLINK,
                 m4 = IN_ALL_EVENTS, m5 = IN_ATTRIB;

  // Child 1: one instance over tmpfs, root fs, bind mount, procfs, an unlinked open file, a
  // bind-mounted file, and a directory removed below.
  Child c1([&](std::vector<int64_t>& r) {
    name_self("itr-one");
    int fd = inotify_init1(0);
    r.push_back(fd);
    for (auto [p, m] : std::vector<std::pair<std::string, uint32_t>>{
             {tmp + "/a", m1}, {bind + "/in", m3}, {procdir, m4}, {tmp + "/gone", m4}}) {
      r.push_back(inotify_add_watch(fd, p.c_str(), m));
    }
    int keep = open((tmp + "/unlinked").c_str(), O_RDONLY);
    r.push_back(inotify_add_watch(fd, (tmp + "/unlinked").c_str(), m4));
    if (keep < 0 || unlink((tmp + "/unlinked").c_str()) != 0) return false;
    r.push_back(rootdir.empty() ? 0 : inotify_add_watch(fd, rootdir.c_str(), m2));
    r.push_back(inotify_add_watch(fd, fbind.c_str(), m1));
    for (auto v : r)
      if (v < 0) return false;
    return true;
  });
  ASSERT_TRUE(c1.ok());

  // Child 2: an instance shared with its own fork child.
  Child c2([&](std::vector<int64_t>& r) {
    name_self("itr-fork");
    int fd = inotify_init1(IN_NONBLOCK);
    r.push_back(fd);
    r.push_back(inotify_add_watch(fd, (tmp + "/b").c_str(), m1));
    r.push_back(inotify_add_watch(fd, (tmp + "/file").c_str(), m3));
    pid_t g = fork();
    if (g == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      name_self("itr-forked");
      char c;
      while (read(kReleaseFd, &c, 1) > 0) {
      }
      _exit(0);
    }
    r.push_back(g);
    return fd >= 0 && g > 0 && r[1] > 0 && r[2] > 0;
  });
  ASSERT_TRUE(c2.ok());

  // Child 3: two distinct instances with identical watch lists (kcmp must keep them apart), and a
  // dup of the first (one instance, two fds).
  Child c3([&](std::vector<int64_t>& r) {
    name_self("itr-twins");
    int a = inotify_init1(0), b = inotify_init1(0);
    r.push_back(a);
    r.push_back(b);
    r.push_back(inotify_add_watch(a, (tmp + "/b").c_str(), m5));
    r.push_back(inotify_add_watch(b, (tmp + "/b").c_str(), m5));
    r.push_back(dup(a));
    for (auto v : r)
      if (v < 0) return false;
    return true;
  });
  ASSERT_TRUE(c3.ok());

  // Child 4: its own mount namespace with a tmpfs the host never sees.
  Child c4([&](std::vector<int64_t>& r) {
    name_self("itr-ns");
    if (unshare(CLONE_NEWNS) != 0 || mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        mount("tmpfs", nsmnt.c_str(), "tmpfs", 0, nullptr) != 0 || ::mkdir((nsmnt + "/d").c_str(), 0755) != 0 ||
        ::mkdir((nsmnt + "/d2").c_str(), 0755) != 0)
      return false;
    int fd = inotify_init1(0);
    r.push_back(fd);
    r.push_back(inotify_add_watch(fd, (nsmnt + "/d").c_str(), m4));
    return fd >= 0 && r[1] > 0;
  });
  ASSERT_TRUE(c4.ok());
  const std::string via_c4 = "/proc/" + std::to_string(c4.pid()) + "/root";
  Target ns_d = stat_target(via_c4 + nsmnt + "/d"), ns_d2 = stat_target(via_c4 + nsmnt + "/d2");

  // Child 5: in the host namespace, watches a directory of child 4's tmpfs (through
  // /proc/PID/root): mounted only in another namespace.
  Child c5([&](std::vector<int64_t>& r) {
    name_self("itr-peek");
    int fd = inotify_init1(0);
    r.push_back(fd);
    r.push_back(inotify_add_watch(fd, (via_c4 + nsmnt + "/d2").c_str(), m1));
    return fd >= 0 && r[1] > 0;
  });
  ASSERT_TRUE(c5.ok());

  // rmdir of a watched directory removes the watch.
  ASSERT_EQ(::rmdir((tmp + "/gone").c_str()), 0);

  const std::set<uint32_t> pids{c1.pid(), c2.pid(), static_cast<uint32_t>(c2.at(3)), c3.pid(), c4.pid(), c5.pid()};
  ProcfsSourceOptions opts;
  ProcfsScanStats stats;
  Snapshot s;
  for (int i = 0; i < 40; i++) {  // the mark is detached synchronously; allow for slowness anyway
    s = take_procfs_snapshot(opts, &stats);
    const SnapInstance* one = find_instance(s, c1.pid(), static_cast<int32_t>(c1.at(0)));
    bool gone = one && std::none_of(one->watches.begin(), one->watches.end(),
                                    [&](const SnapWatch& w) { return w.wd == c1.at(4); });
    if (gone) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(s.source, "procfs");
  EXPECT_EQ(instances_of(s, pids), 6u);

  auto W = [&](int64_t wd, const std::string& path, uint32_t mask, std::string note = "") {
    const Target& x = t.at(path);
    return ExpectedWatch{static_cast<int>(wd), x.ino, x.dev, mask, path, std::move(note)};
  };
  const int32_t fd1 = static_cast<int32_t>(c1.at(0));
  ExpectedInstance e1{{{c1.pid(), fd1}},
                      {W(c1.at(1), tmp + "/a", m1), W(c1.at(2), bind + "/in", m3),
                       W(c1.at(3), procdir, m4, "no decodable file handle (pseudo filesystem)"),
                       W(c1.at(5), tmp + "/unlinked", m4, "unlinked")}};
  if (!rootdir.empty()) e1.watches.push_back(W(c1.at(6), rootdir, m2));
  e1.watches.push_back(W(c1.at(7), fbind, m1));
  expect_instance(s, e1, "tmpfs, bind, procfs, unlinked, root fs, file bind; rmdir'ed gone");

  const int32_t fd2 = static_cast<int32_t>(c2.at(0));
  expect_instance(s,
                  ExpectedInstance{{{c2.pid(), fd2}, {static_cast<uint32_t>(c2.at(3)), fd2}},
                                   {W(c2.at(1), tmp + "/b", m1), W(c2.at(2), tmp + "/file", m3)}},
                  "shared by fork");

  const int32_t a = static_cast<int32_t>(c3.at(0)), b = static_cast<int32_t>(c3.at(1)),
                dupfd = static_cast<int32_t>(c3.at(4));
  expect_instance(s, ExpectedInstance{{{c3.pid(), a}, {c3.pid(), dupfd}}, {W(c3.at(2), tmp + "/b", m5)}}, "dup");
  expect_instance(s, ExpectedInstance{{{c3.pid(), b}}, {W(c3.at(3), tmp + "/b", m5)}}, "identical twin");

  expect_instance(s,
                  ExpectedInstance{{{c4.pid(), static_cast<int32_t>(c4.at(0))}},
                                   {ExpectedWatch{static_cast<int>(c4.at(1)), ns_d.ino, ns_d.dev, m4, nsmnt + "/d", ""}}},
                  "tmpfs in the watcher's own mount namespace");
  expect_instance(s,
                  ExpectedInstance{{{c5.pid(), static_cast<int32_t>(c5.at(0))}},
                                   {ExpectedWatch{static_cast<int>(c5.at(1)), ns_d2.ino, ns_d2.dev, m1, nsmnt + "/d2",
                                                  fmt::format("mounted only in another mount namespace (mnt:[{}], pid {})",
                                                              mount_ns_of(c4.pid()), c4.pid())}}},
                  "tmpfs mounted only in another namespace");

  // Holder details.
  const SnapInstance* forked = find_instance(s, c2.pid(), fd2);
  ASSERT_NE(forked, nullptr);
  ASSERT_EQ(forked->holders.size(), 2u);
  EXPECT_EQ(forked->holders[0].comm, "itr-fork");
  EXPECT_EQ(forked->holders[1].comm, "itr-forked");
  const SnapInstance* in_ns = find_instance(s, c4.pid(), static_cast<int32_t>(c4.at(0)));
  ASSERT_NE(in_ns, nullptr);
  EXPECT_NE(in_ns->holders[0].mnt_ns, mount_ns_of(getpid()));
  EXPECT_GE(stats.same_file_calls, 3u);  // fork pair, dup pair, twins
  for (const auto& w : s.warnings) EXPECT_EQ(w.find("kcmp"), std::string::npos) << w;

  // Without paths: the same instances and watches, no paths.
  ProcfsSourceOptions no_paths;
  no_paths.with_paths = false;
  Snapshot np = take_procfs_snapshot(no_paths);
  const SnapInstance* one = find_instance(np, c1.pid(), fd1);
  ASSERT_NE(one, nullptr);
  EXPECT_EQ(one->watches.size(), e1.watches.size());
  for (const auto& w : one->watches) {
    EXPECT_EQ(w.path, "");
    EXPECT_EQ(w.path_note, "");
  }
  EXPECT_EQ(instances_of(np, pids), 6u);

  // The BPF iterator source sees exactly the same truth: every (pid, fd, wd, ino, dev, mask)
  // of these processes, and names the targets as their watchers see them.
  init_libbpf_logging(false);
  KernelFacts facts = preflight("");
  ProcNodeView node;
  SnapshotTaker taker(&facts, SnapshotSource::Iterator, node);
  Snapshot it = taker.take(true);
  EXPECT_EQ(it.source, "iterator");
  using Row = std::tuple<uint32_t, int32_t, int32_t, uint64_t, uint32_t, uint32_t>;
  auto rows = [&](const Snapshot& snap) {
    std::set<Row> out;
    for (const auto& inst : snap.instances)
      for (const auto& h : inst.holders)
        if (pids.count(h.pid))
          for (const auto& w : inst.watches) out.emplace(h.pid, h.fd, w.wd, w.ino, w.dev.raw, w.mask);
    return out;
  };
  std::string seen;
  for (const auto& inst : it.instances)
    for (const auto& h : inst.holders) seen += std::to_string(h.pid) + ":" + std::to_string(h.fd) + "(" + std::to_string(inst.watches.size()) + ") ";
  EXPECT_EQ(rows(it), rows(s)) << "iterator and fdinfo disagree; iterator saw " << seen << " warnings " << it.warnings.size();
  EXPECT_GE(rows(it).size(), 12u);
  std::map<std::pair<uint32_t, int32_t>, const SnapWatch*> by_wd;
  for (const auto& inst : it.instances)
    for (const auto& h : inst.holders)
      for (const auto& w : inst.watches) by_wd[{h.pid, w.wd}] = &w;
  auto path_of = [&](uint32_t pid, int64_t wd) -> std::string {
    auto f = by_wd.find({pid, static_cast<int32_t>(wd)});
    return f == by_wd.end() ? "<missing>" : f->second->path;
  };
  EXPECT_EQ(path_of(c1.pid(), c1.at(1)), tmp + "/a") << "tmpfs";
  EXPECT_EQ(path_of(c1.pid(), c1.at(2)), bind + "/in") << "bind mount of a subtree";
  // Without bpf_loop (< 5.17) the iterator walks no dentries: paths come from file handles,
  // which procfs does not have.
  bool walks_paths = kernel_has_bpf_loop();
  if (walks_paths) {
    EXPECT_EQ(path_of(c1.pid(), c1.at(3)), procdir) << "procfs, named by its dentries";
  } else {
    auto pw = by_wd.find({c1.pid(), static_cast<int32_t>(c1.at(3))});
    ASSERT_NE(pw, by_wd.end());
    EXPECT_NE(pw->second->path_note.find("no decodable file handle"), std::string::npos) << pw->second->path_note;
  }
  EXPECT_EQ(path_of(c1.pid(), c1.at(7)), fbind) << "bind-mounted file";
  if (!rootdir.empty()) EXPECT_EQ(path_of(c1.pid(), c1.at(6)), rootdir) << "root filesystem";
  EXPECT_EQ(path_of(c4.pid(), c4.at(1)), nsmnt + "/d") << "tmpfs in the watcher's own namespace";
  EXPECT_EQ(path_of(c5.pid(), c5.at(1)), nsmnt + "/d2") << "mounted only in another namespace";
  auto unl = by_wd.find({c1.pid(), static_cast<int32_t>(c1.at(5))});
  ASSERT_NE(unl, by_wd.end());
  EXPECT_NE(unl->second->path_note.find("unlinked"), std::string::npos) << unl->second->path_note;
  auto peek = by_wd.find({c5.pid(), static_cast<int32_t>(c5.at(1))});
  ASSERT_NE(peek, by_wd.end());
  EXPECT_NE(peek->second->path_note.find("another mount namespace"), std::string::npos);
  const SnapInstance* shared = nullptr;
  for (const auto& inst : it.instances)
    for (const auto& h : inst.holders)
      if (h.pid == c2.pid()) shared = &inst;
  ASSERT_NE(shared, nullptr);
  EXPECT_EQ(shared->holders.size(), 2u) << "a fork-shared fd is one instance with two holders";
}

// cgroup and sysfs targets live on kernfs, whose dentries the kernel may prune while the watch
// pins the inode: the iterator names them from the kernfs node chain instead.
TEST(SnapshotLive, KernfsTargetsAreNamed) {
  PROCFS_REQUIRE_ROOT();
  if (!kernel_has_bpf_loop())
    GTEST_SKIP() << "SKIPPED: kernel without bpf_loop (< 5.17): the snapshot iterator walks no paths here, "
                    "and kernfs has no decodable file handles";
  std::vector<std::string> targets = {"/sys/kernel", "/sys/fs"};
  for (const char* cg : {"/sys/fs/cgroup/memory", "/sys/fs/cgroup/cpu", "/sys/fs/cgroup/unified"}) {
    struct stat st{};
    if (stat(cg, &st) == 0 && S_ISDIR(st.st_mode)) {
      targets.push_back(cg);
      break;
    }
  }
  int fd = inotify_init1(IN_CLOEXEC);
  ASSERT_GE(fd, 0);
  std::map<int, std::string> wds;
  for (const auto& t : targets) {
    int wd = inotify_add_watch(fd, t.c_str(), IN_CREATE);
    ASSERT_GT(wd, 0) << t;
    wds[wd] = t;
  }
  // Drop the dentry cache so kernfs dentries of the watched inodes may go (the marks keep the
  // inodes); the names must come out either way.
  std::ofstream("/proc/sys/vm/drop_caches") << "2";
  init_libbpf_logging(false);
  KernelFacts facts = preflight("");
  ProcNodeView node;
  SnapshotTaker taker(&facts, SnapshotSource::Iterator, node);
  Snapshot it = taker.take(true);
  const SnapInstance* mine = find_instance(it, getpid(), fd);
  ASSERT_NE(mine, nullptr);
  for (const auto& w : mine->watches) EXPECT_EQ(w.path, wds[w.wd]) << "wd " << w.wd << " note " << w.path_note;
  close(fd);
}

// A chrooted watcher's target is named as the watcher spells it, from its own root, by both
// sources (the procfs one always did; the iterator's used the namespace's root until both went
// through one node view); a watcher of the same directory at the namespace's top sees the full
// path. Built in a private mount namespace whose order is the test's own: the chrooted watcher
// made it and comes first in pid order, and must not stand for it (MountNamespaces); the
// process at its top, forked afterwards, watches from there. Nothing is mounted in the test's
// namespace, and the namespace ends with the two processes.
TEST(SnapshotLive, ChrootedWatcherIsNamedAsItSeesItByBothSources) {
  PROCFS_REQUIRE_ROOT();
  TempDir td("inotrace-chroot");
  const std::string jail = std::filesystem::canonical(td.mkdir("jail")).string();
  Child jailed([&](std::vector<int64_t>& r) {
    name_self("itr-jailed");
    if (unshare(CLONE_NEWNS) != 0 || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        mount("tmpfs", jail.c_str(), "tmpfs", 0, nullptr) != 0 || mkdir((jail + "/d").c_str(), 0755) != 0)
      return false;
    int told[2];
    if (pipe(told) != 0) return false;
    pid_t top = fork();  // at the namespace's top until the test releases both
    if (top < 0) return false;
    if (top == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      name_self("itr-free");
      int64_t got[2] = {inotify_init1(0), -1};
      if (got[0] >= 0) got[1] = inotify_add_watch((int)got[0], (jail + "/d").c_str(), IN_CREATE);
      (void)!write(told[1], got, sizeof got);
      char c;
      while (read(kReleaseFd, &c, 1) > 0) {
      }
      _exit(0);
    }
    close(told[1]);
    int64_t got[2] = {-1, -1};
    if (read(told[0], got, sizeof got) != sizeof got || got[1] <= 0) return false;
    r.insert(r.end(), {top, got[0]});
    if (chroot(jail.c_str()) != 0 || chdir("/") != 0) return false;
    int fd = inotify_init1(0);
    r.push_back(fd);
    r.push_back(inotify_add_watch(fd, "/d", IN_CREATE));
    return fd >= 0 && r.back() > 0;
  });
  ASSERT_TRUE(jailed.ok()) << jailed.failure();
  const uint32_t top = static_cast<uint32_t>(jailed.at(0));
  if (top < jailed.pid())  // the pids wrapped between the two forks: the order is not the test's
    std::cout << "[  NOTE    ] the process at the top (" << top << ") came before the chrooted one (" << jailed.pid()
              << "): pids wrapped, this run does not test the order\n";
  const uint64_t ns = mount_ns_of(jailed.pid());
  ASSERT_NE(ns, 0u);
  ASSERT_NE(ns, mount_ns_of(getpid()));
  init_libbpf_logging(false);
  KernelFacts facts = preflight("");
  for (SnapshotSource source : {SnapshotSource::Procfs, SnapshotSource::Iterator}) {
    ProcNodeView node;
    SnapshotTaker taker(source == SnapshotSource::Procfs ? nullptr : &facts, source, node);
    SCOPED_TRACE(taker.source_name());
    Snapshot s = taker.take(true);
    // The namespace is read through its top, not the chrooted watcher that comes first in pid
    // order: its table lists the jail's mount where it is mounted, which is what pins, leaks
    // and unmount deductions are looked up in.
    const NamespaceMounts* theirs = node.mounts().find(ns);
    ASSERT_NE(theirs, nullptr);
    EXPECT_EQ(theirs->pid, top) << "read through pid " << theirs->pid << "; the chrooted one is " << jailed.pid();
    EXPECT_TRUE(std::any_of(theirs->mounts.begin(), theirs->mounts.end(),
                            [&](const MountEntry& m) { return m.mount_point == jail; }))
        << "the namespace's table does not list " << jail << " (read through pid " << theirs->pid << ")";
    for (auto [pid, fd, expected] : {std::tuple{(uint32_t)jailed.pid(), jailed.at(2), std::string("/d")},
                                     std::tuple{top, jailed.at(1), jail + "/d"}}) {
      const SnapInstance* inst = find_instance(s, pid, static_cast<int32_t>(fd));
      ASSERT_NE(inst, nullptr) << "pid " << pid << " fd " << fd;
      ASSERT_EQ(inst->watches.size(), 1u);
      EXPECT_EQ(inst->watches[0].path, expected) << inst->watches[0].path_note;
      EXPECT_EQ(inst->watches[0].path_note, "");
    }
  }
}

// A watcher plants an absolute symlink where its namespace's mountinfo lists a (covered) mount
// point. Followed from our root, the link leads to our own view of that filesystem, a directory of
// the attacker's choosing on the same device; followed inside the watcher's root, to its other
// mount of it: either way the old resolver took it for the mount's root and named the watch by
// the wrong mount. A mount point is opened without following symlinks, and must be the mount
// mountinfo names. Setup: tmpfs F mounted in the test's namespace (td/F); the
// child, in its own namespace, binds F/h1 at td/t/m and F/h2 at td/data, unmounts td/F (no whole
// mount of F is left in its view), covers td/t with a tmpfs holding m -> td/F/h2, and watches
// td/data/w.
TEST(SnapshotLive, ASymlinkOverACoveredMountPointDoesNotRenameAWatch) {
  PROCFS_REQUIRE_ROOT();
  // The link's target: our view of F (outside their namespace), then their other mount of F.
  for (const std::string target : {"F/h2", "data"}) {
    SCOPED_TRACE("t/m -> <td>/" + target);
    TempDir td("inotrace-mount-symlink");
    const std::string base = std::filesystem::canonical(td.path()).string();
    const std::string f = base + "/F", t = base + "/t", data = base + "/data";
    ASSERT_EQ(mkdir(f.c_str(), 0755), 0);
    ASSERT_EQ(mount("tmpfs", f.c_str(), "tmpfs", 0, nullptr), 0) << strerror(errno);
    absl::Cleanup unmount_f = [&] { umount2(f.c_str(), MNT_DETACH); };
    for (const std::string& d : {f + "/h1", f + "/h2", f + "/h2/w", t, t + "/m", data})
      ASSERT_EQ(mkdir(d.c_str(), 0755), 0) << d;
    Child watcher([&](std::vector<int64_t>& r) {
      name_self("itr-planter");
      if (unshare(CLONE_NEWNS) != 0 || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
          mount((f + "/h1").c_str(), (t + "/m").c_str(), nullptr, MS_BIND, nullptr) != 0 ||
          mount((f + "/h2").c_str(), data.c_str(), nullptr, MS_BIND, nullptr) != 0 || umount2(f.c_str(), 0) != 0 ||
          mount("tmpfs", t.c_str(), "tmpfs", 0, nullptr) != 0 ||
          symlink((base + "/" + target).c_str(), (t + "/m").c_str()) != 0)
        return false;
      int fd = inotify_init1(0);
      r.push_back(fd);
      r.push_back(inotify_add_watch(fd, (data + "/w").c_str(), IN_CREATE));
      return fd >= 0 && r.back() > 0;
    });
    ASSERT_TRUE(watcher.ok()) << watcher.failure();
    init_libbpf_logging(false);
    KernelFacts facts = preflight("");
    for (SnapshotSource source : {SnapshotSource::Procfs, SnapshotSource::Iterator}) {
      ProcNodeView node;
      SnapshotTaker taker(source == SnapshotSource::Procfs ? nullptr : &facts, source, node);
      SCOPED_TRACE(taker.source_name());
      Snapshot s = taker.take(true);
      const SnapInstance* inst = find_instance(s, watcher.pid(), static_cast<int32_t>(watcher.at(0)));
      ASSERT_NE(inst, nullptr);
      ASSERT_EQ(inst->watches.size(), 1u);
      EXPECT_EQ(inst->watches[0].path, data + "/w") << inst->watches[0].path_note;
      EXPECT_EQ(inst->watches[0].path_note, "");
    }
  }
}

// A user can bind-mount a subtree of their own tmpfs thousands of times; a watch outside all of
// them would make the resolver try each. It stops after kMaxMountsTried and says so. In its own
// namespace the child mounts a tmpfs, watches g/out, binds g/s that many times + 1 and unmounts g.
TEST(SnapshotLive, MountsOfOneFilesystemAreTriedUpToALimit) {
  PROCFS_REQUIRE_ROOT();
  TempDir td("inotrace-many-binds");
  const std::string base = std::filesystem::canonical(td.path()).string(), g = base + "/g";
  const size_t binds = FileHandlePathResolver::kMaxMountsTried + 1;
  for (size_t i = 0; i < binds; i++) ASSERT_EQ(mkdir(fmt::format("{}/b{}", base, i).c_str(), 0755), 0);
  ASSERT_EQ(mkdir(g.c_str(), 0755), 0);
  Child watcher([&](std::vector<int64_t>& r) {
    name_self("itr-binds");
    if (unshare(CLONE_NEWNS) != 0 || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        mount("tmpfs", g.c_str(), "tmpfs", 0, nullptr) != 0 || mkdir((g + "/s").c_str(), 0755) != 0 ||
        mkdir((g + "/out").c_str(), 0755) != 0)
      return false;
    int fd = inotify_init1(0);
    r.push_back(fd);
    r.push_back(inotify_add_watch(fd, (g + "/out").c_str(), IN_CREATE));
    for (size_t i = 0; i < binds; i++)
      if (mount((g + "/s").c_str(), fmt::format("{}/b{}", base, i).c_str(), nullptr, MS_BIND, nullptr) != 0) return false;
    return fd >= 0 && r.back() > 0 && umount2(g.c_str(), 0) == 0;
  });
  ASSERT_TRUE(watcher.ok()) << watcher.failure();
  ProcNodeView node;
  SnapshotTaker taker(nullptr, SnapshotSource::Procfs, node);
  Snapshot s = taker.take(true);
  const SnapInstance* inst = find_instance(s, watcher.pid(), static_cast<int32_t>(watcher.at(0)));
  ASSERT_NE(inst, nullptr);
  ASSERT_EQ(inst->watches.size(), 1u);
  EXPECT_EQ(inst->watches[0].path, "");
  EXPECT_NE(inst->watches[0].path_note.find(fmt::format("{} mounts in this view, the first {} were tried", binds,
                                                        FileHandlePathResolver::kMaxMountsTried)),
            std::string::npos)
      << inst->watches[0].path_note;
}

// The resolver keeps an fd per mount it opened, up to an eighth of RLIMIT_NOFILE (at least 16);
// past that it closes them all and goes on. A child watches a directory in each of 96 tmpfs
// mounts of its own, with our soft limit at 64 (a budget of 16): every one is named. Keeping an
// fd for each (as it once did) runs out of fds.
TEST(SnapshotLive, MoreMountsThanTheFdBudgetAreAllNamed) {
  PROCFS_REQUIRE_ROOT();
  TempDir td("inotrace-fd-budget");
  const std::string base = std::filesystem::canonical(td.path()).string();
  constexpr int kMounts = 96;
  for (int i = 0; i < kMounts; i++) ASSERT_EQ(mkdir(fmt::format("{}/m{}", base, i).c_str(), 0755), 0);
  Child watcher([&](std::vector<int64_t>& r) {
    name_self("itr-mounts");
    if (unshare(CLONE_NEWNS) != 0 || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return false;
    int fd = inotify_init1(0);
    r.push_back(fd);
    for (int i = 0; i < kMounts; i++) {
      std::string m = fmt::format("{}/m{}", base, i);
      if (mount("tmpfs", m.c_str(), "tmpfs", 0, nullptr) != 0 || mkdir((m + "/d").c_str(), 0755) != 0) return false;
      r.push_back(inotify_add_watch(fd, (m + "/d").c_str(), IN_CREATE));
    }
    return fd >= 0 && std::all_of(r.begin(), r.end(), [](int64_t v) { return v >= 0; });
  });
  ASSERT_TRUE(watcher.ok()) << watcher.failure();
  struct rlimit old {};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
  struct rlimit low = old;
  low.rlim_cur = 64;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  absl::Cleanup restore = [&] { setrlimit(RLIMIT_NOFILE, &old); };
  ProcNodeView node;
  SnapshotTaker taker(nullptr, SnapshotSource::Procfs, node);
  Snapshot s = taker.take(true);
  const SnapInstance* inst = find_instance(s, watcher.pid(), static_cast<int32_t>(watcher.at(0)));
  ASSERT_NE(inst, nullptr);
  ASSERT_EQ(inst->watches.size(), static_cast<size_t>(kMounts));
  std::set<std::string> named;
  for (const SnapWatch& w : inst->watches) {
    EXPECT_EQ(w.path_note, "") << w.path;
    named.insert(w.path);
  }
  for (int i = 0; i < kMounts; i++) EXPECT_EQ(named.count(fmt::format("{}/m{}/d", base, i)), 1u) << i;
}

// A process chrooted into a bind of "/" mounted on a directory of "/": ".." of its root is "/",
// the same inode as its root, on the mount below. It does not stand for its namespace even when
// it comes first in pid order (its table lists only the bind, at "/"). Told apart by mount id
// (statx, 5.8+). Built in a private mount namespace, where the order is the test's own: the
// chrooted process made it and forked the one at its top afterwards; nothing is mounted in the
// test's namespace, and the namespace ends with the two processes.
TEST(SnapshotLive, AProcessChrootedIntoABindOfTheRootDoesNotStandForItsNamespace) {
  PROCFS_REQUIRE_ROOT();
  struct statx sx {};
  if (statx(AT_FDCWD, "/", 0, STATX_MNT_ID, &sx) != 0 || !(sx.stx_mask & STATX_MNT_ID))
    GTEST_SKIP() << "SKIPPED: SnapshotLive.AProcessChrootedIntoABindOfTheRootDoesNotStandForItsNamespace: "
                    "statx gives no mount id on this kernel (before 5.8)";
  const std::string jail = fmt::format("/inotrace-bind-root-{}", getpid());  // in "/": see above
  ASSERT_EQ(::mkdir(jail.c_str(), 0700), 0) << jail << ": " << strerror(errno);
  absl::Cleanup remove_jail = [&] { ::rmdir(jail.c_str()); };  // empty: mounted on only in the child's namespace
  Child jailed([&](std::vector<int64_t>& r) {
    name_self("itr-bindroot");
    if (unshare(CLONE_NEWNS) != 0 || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        mount("/", jail.c_str(), nullptr, MS_BIND, nullptr) != 0)
      return false;
    pid_t top = fork();  // stays at the namespace's top until the test releases both
    if (top < 0) return false;
    if (top == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      char c;
      while (read(kReleaseFd, &c, 1) > 0) {
      }
      _exit(0);
    }
    r.push_back(top);
    return chroot(jail.c_str()) == 0 && chdir("/") == 0;
  });
  ASSERT_TRUE(jailed.ok()) << jailed.failure();
  const uint32_t top = static_cast<uint32_t>(jailed.at(0));
  if (top < jailed.pid())  // the pids wrapped between the two forks: the order is not the test's
    std::cout << "[  NOTE    ] the process at the top (" << top << ") came before the chrooted one (" << jailed.pid()
              << "): pids wrapped, this run does not test the order\n";
  MountNamespaces mounts = MountNamespaces::scan(nullptr);
  const uint64_t ns = mount_ns_of(jailed.pid());
  ASSERT_NE(ns, 0u);
  ASSERT_NE(ns, mount_ns_of(getpid()));
  ASSERT_EQ(mount_ns_of(top), ns);
  const NamespaceMounts* theirs = mounts.find(ns);
  ASSERT_NE(theirs, nullptr);
  EXPECT_EQ(theirs->pid, top) << "read through pid " << theirs->pid << "; the chrooted one is " << jailed.pid();
  EXPECT_TRUE(std::any_of(theirs->mounts.begin(), theirs->mounts.end(),
                          [&](const MountEntry& m) { return m.mount_point == jail; }))
      << "the namespace's table does not list " << jail << " (read through pid " << theirs->pid << ")";
}

// Where the pod tests make their cgroups and move processes: the unified hierarchy, or cgroup
// v1's memory one (the one inotrace reads a v1 placement from); "" when neither is mounted.
std::string pod_cgroup_hierarchy() {
  std::string base = std::filesystem::exists("/sys/fs/cgroup/cgroup.controllers") ? "/sys/fs/cgroup"
                                                                                    : "/sys/fs/cgroup/memory";
  return std::filesystem::exists(base + "/cgroup.procs") ? base : "";
}

// A watcher in a cgroup shaped as kubelet's cgroupfs driver makes it (a private subtree, so no
// other test's kubepods detection sees it) is attributed to its pod and container by both
// sources, names read from a containerd task bundle laid out as containerd writes it.
std::string describe(const Workload& w) {
  return fmt::format("pod {}/{} uid {} qos {}; container {} id {} runtime '{}'; unit '{}'", w.pod_namespace, w.pod_name,
                     w.pod_uid, w.qos, w.container_name, w.container_id, w.runtime, w.unit);
}

TEST(SnapshotLive, HolderInAKubeletCgroupIsAttributedToItsPodByBothSources) {
  PROCFS_REQUIRE_ROOT();
  const std::string base = pod_cgroup_hierarchy();
  if (base.empty())
    GTEST_SKIP() << "SKIPPED: SnapshotLive.HolderInAKubeletCgroupIsAttributedToItsPodByBothSources: no cgroup v2 or v1 "
                    "memory hierarchy mounted at /sys/fs/cgroup";
  const std::string uid = "5b4a2c1e-8f3d-4e6a-9b7c-0d1e2f3a4b5c";
  const std::string id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  const std::string top = fmt::format("{}/inotrace-test-{}", base, getpid());
  const std::string leaf = fmt::format("{}/kubepods/burstable/pod{}/{}", top, uid, id);
  CgroupDirs cgroups(leaf);
  ASSERT_TRUE(cgroups.make(top)) << leaf;
  TempDir td("inotrace-attribution");
  const std::string tasks = td.mkdir("tasks");
  std::filesystem::create_directories(tasks + "/k8s.io/" + id);
  std::ofstream(tasks + "/k8s.io/" + id + "/config.json")
      << R"({"annotations":{"io.kubernetes.cri.container-name":"watcher","io.kubernetes.cri.sandbox-name":"dev-1",)"
      << R"("io.kubernetes.cri.sandbox-namespace":"team-a","io.kubernetes.cri.sandbox-uid":")" << uid << R"("}})";
  const std::string watched = td.mkdir("watched");
  Child c([&](std::vector<int64_t>& r) {
    name_self("itr-in-pod");
    if (!(std::ofstream(leaf + "/cgroup.procs") << getpid() << "\n")) return false;
    int fd = inotify_init1(0);
    r.push_back(fd);
    r.push_back(inotify_add_watch(fd, watched.c_str(), IN_CREATE));
    return fd >= 0 && r.back() > 0;
  });
  ASSERT_TRUE(c.ok()) << c.failure();
  Workload expected;
  expected.pod_uid = uid;
  expected.pod_namespace = "team-a";
  expected.pod_name = "dev-1";
  expected.qos = "burstable";
  expected.container_id = id;
  expected.container_name = "watcher";
  expected.runtime = "containerd";  // the cgroupfs path does not say; the bundle's place does
  init_libbpf_logging(false);
  KernelFacts facts = preflight("");
  for (SnapshotSource source : {SnapshotSource::Procfs, SnapshotSource::Iterator}) {
    ProcNodeView node("/proc", RuntimeStateDirs{tasks, td.path() + "/none", td.path() + "/none"});
    SnapshotTaker taker(source == SnapshotSource::Procfs ? nullptr : &facts, source, node);
    SCOPED_TRACE(taker.source_name());
    Snapshot s = taker.take(true);
    const SnapInstance* inst = find_instance(s, c.pid(), static_cast<int32_t>(c.at(0)));
    ASSERT_NE(inst, nullptr);
    ASSERT_TRUE(inst->holders.front().workload);
    EXPECT_EQ(describe(*inst->holders.front().workload), describe(expected));
    const SnapInstance* mine = nullptr;
    for (const auto& i : s.instances)
      for (const auto& h : i.holders)
        if (h.pid == (uint32_t)getpid()) mine = &i;
    if (mine) EXPECT_FALSE(mine->holders.front().workload && mine->holders.front().workload->in_pod());
  }
  // A cgroup root did not make (one delegated to a user, who may name it anything) is no pod.
  ASSERT_EQ(chown(leaf.c_str(), 65534, 65534), 0);
  ProcNodeView fresh("/proc", RuntimeStateDirs{tasks, td.path() + "/none", td.path() + "/none"});
  EXPECT_EQ(fresh.workload_of(c.pid()), nullptr) << "a user-owned cgroup named like a pod's";
}

// A cgroup named like a pod, nested until /proc/PID/cgroup prints a path just under PATH_MAX:
// with the hierarchy's mount point in front it is too long to stat whole, which once let the
// name alone decide (a user with a delegated subtree could pass as any pod). Looked up from the
// hierarchy's root: made by root it is the pod, given to a user it is not.
TEST(SnapshotLive, APodNamedCgroupNearPathMaxIsJudgedByItsOwner) {
  PROCFS_REQUIRE_ROOT();
  const std::string base = pod_cgroup_hierarchy();
  if (base.empty())
    GTEST_SKIP() << "SKIPPED: SnapshotLive.APodNamedCgroupNearPathMaxIsJudgedByItsOwner: no cgroup v2 or v1 memory "
                    "hierarchy mounted at /sys/fs/cgroup";
  const std::string uid = "6c5b3d2f-9a4e-4f7b-8c8d-1e2f3a4b5c6d";
  std::vector<std::string> parts{fmt::format("inotrace-deep-{}", getpid()), "kubepods", "burstable", "pod" + uid};
  const size_t printed = 4090;  // the path /proc prints; PATH_MAX is 4096 with the NUL
  size_t len = 0;
  for (const auto& p : parts) len += 1 + p.size();
  while (len + 1 + 200 + 2 <= printed) parts.push_back(std::string(200, 'p')), len += 201;
  parts.push_back(std::string(printed - len - 1, 'q'));
  ASSERT_GT(base.size() + printed, 4095u) << "too short to matter";
  // Made one level at a time (the whole path is too long for mkdir); removed in reverse.
  std::vector<UniqueFd> dirs;
  dirs.emplace_back(open(base.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  absl::Cleanup remove = [&] {
    for (size_t i = dirs.size() - 1; i > 0; i--) unlinkat(dirs[i - 1].get(), parts[i - 1].c_str(), AT_REMOVEDIR);
  };
  for (const auto& p : parts) {
    ASSERT_EQ(mkdirat(dirs.back().get(), p.c_str(), 0755), 0) << strerror(errno);
    dirs.emplace_back(openat(dirs.back().get(), p.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(dirs.back()) << strerror(errno);
  }
  Child c([&](std::vector<int64_t>& r) {
    name_self("itr-deep-pod");
    r.push_back(getpid());
    return true;
  });
  ASSERT_TRUE(c.ok()) << c.failure();
  {
    UniqueFd procs(openat(dirs.back().get(), "cgroup.procs", O_WRONLY | O_CLOEXEC));
    ASSERT_TRUE(procs) << strerror(errno);
    std::string pid = std::to_string(c.pid());
    ASSERT_EQ(write(procs.get(), pid.data(), pid.size()), (ssize_t)pid.size()) << strerror(errno);
  }
  absl::Cleanup leave = [&] {  // back to the root cgroup, so that the directories can go
    std::ofstream(base + "/cgroup.procs") << c.pid() << "\n";
  };
  std::ifstream cg(fmt::format("/proc/{}/cgroup", c.pid()));
  std::stringstream text;
  text << cg.rdbuf();
  ASSERT_NE(text.str().find("/pod" + uid + "/"), std::string::npos) << "the kernel prints the path: " << text.str().size();
  const RuntimeStateDirs none{"/nonexistent", "/nonexistent", "/nonexistent"};
  {
    ProcNodeView view("/proc", none);
    auto w = view.workload_of(c.pid());
    ASSERT_TRUE(w) << "made by root, named as a pod";
    EXPECT_EQ(w->pod_uid, uid);
  }
  ASSERT_EQ(fchownat(dirs[dirs.size() - 2].get(), parts.back().c_str(), 65534, 65534, 0), 0) << strerror(errno);
  ProcNodeView view("/proc", none);
  EXPECT_EQ(view.workload_of(c.pid()), nullptr) << "a user's cgroup named like a pod, too deep to stat whole";
}

// Not root: other users' processes are skipped with a warning, own ones are read, and paths
// need CAP_DAC_READ_SEARCH.
TEST(ProcfsSourceLive, UnprivilegedScanWarns) {
  PROCFS_REQUIRE_ROOT();  // to switch to nobody
  TempDir td("inotrace-procfs-nobody");
  ASSERT_EQ(chmod(td.path().c_str(), 0777), 0);
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(pipefd[0]);
    std::string out;
    if (setgroups(0, nullptr) == 0 && setresgid(65534, 65534, 65534) == 0 && setresuid(65534, 65534, 65534) == 0) {
      // Changing credentials clears "dumpable", which (on 5.10) hides our own /proc/self/fd*.
      prctl(PR_SET_DUMPABLE, 1);
      int fd = inotify_init1(0);
      int wd = inotify_add_watch(fd, td.path().c_str(), IN_CREATE);
      try {
        Snapshot s = take_procfs_snapshot(ProcfsSourceOptions{});
        for (const auto& w : s.warnings) out += "W " + w + "\n";
        const SnapInstance* mine = find_instance(s, getpid(), fd);
        if (mine && mine->watches.size() == 1 && mine->watches[0].wd == wd)
          out += "N " + mine->watches[0].path_note + "\n";
      } catch (const std::exception& e) {
        out += std::string("X ") + e.what() + "\n";
      }
    }
    (void)!write(pipefd[1], out.data(), out.size());
    _exit(0);
  }
  close(pipefd[1]);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(pipefd[0], buf, sizeof(buf))) > 0;) out.append(buf, n);
  close(pipefd[0]);
  waitpid(pid, nullptr, 0);
  EXPECT_NE(out.find("processes skipped: permission denied (run as root)"), std::string::npos) << out;
  EXPECT_NE(out.find("N open_by_handle_at not permitted (needs CAP_DAC_READ_SEARCH)"), std::string::npos) << out;
  EXPECT_EQ(out.find("X "), std::string::npos) << out;
}


}  // namespace
}  // namespace inotrace::testing
