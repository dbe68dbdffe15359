// Live tier: paths are never silently wrong. Every output that shows a watch's path (trace
// events, snapshots from both sources, the daemon's table and stale view) gives the path a user
// would open, or marks it unmistakably: "…/tail" (path_truncated) for a path longer than the
// kernel's walk, "MAJ:MIN:/in/fs/path" for a path inside a filesystem whose mount is unknown.
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <iostream>
#include <map>
#include <memory>
#include <set>

#include "daemon/node_monitor.h"
#include "events/names.h"
#include "loader/preflight.h"
#include "output/event_json.h"
#include "output/event_text.h"
#include "snapshot/iter_source.h"
#include "snapshot/snapshot_taker.h"
#include "loader/environment.h"
#include "loader/kernel_btf.h"
#include "loader/kernel_func_ids.h"
#include "loader/typed_reads.h"
#include "support/live_support.h"
#include "util/error.h"
#include "util/wall_clock.h"

namespace inotrace::testing {
namespace {

constexpr std::string_view kEllipsis = "\xe2\x80\xa6";  // U+2026, the truncation mark

// A child that runs `body` in `cwd_fd`, reports the inotify fd and the wds it got through a
// pipe, then waits until told to exit (or exits at once with `stay = false`).
class Watcher {
 public:
  Watcher(int cwd_fd, std::vector<std::string> paths, bool stay) {
    int up[2], down[2];
    if (pipe(up) || pipe(down)) throw std::runtime_error("pipe");
    pid_ = fork();
    if (pid_ == 0) {
      close(up[0]);
      close(down[1]);
      if (cwd_fd >= 0 && fchdir(cwd_fd) != 0) _exit(2);
      int fd = inotify_init1(0);
      std::vector<int> out{fd};
      for (const auto& p : paths) out.push_back(inotify_add_watch(fd, p.c_str(), IN_MODIFY | IN_ATTRIB));
      if (write(up[1], out.data(), out.size() * sizeof(int)) < 0) _exit(3);
      close(up[1]);
      char c;
      if (stay) (void)!read(down[0], &c, 1);
      _exit(0);
    }
    close(up[1]);
    close(down[0]);
    down_ = down[1];
    std::vector<int> got(paths.size() + 1, -1);
    size_t want = got.size() * sizeof(int), have = 0;
    while (have < want) {
      ssize_t n = read(up[0], reinterpret_cast<char*>(got.data()) + have, want - have);
      if (n <= 0) break;
      have += n;
    }
    close(up[0]);
    fd_ = got[0];
    wds_.assign(got.begin() + 1, got.end());
  }
  ~Watcher() { finish(); }
  void finish() {
    if (done_) return;
    close(down_);
    waitpid(pid_, nullptr, 0);
    done_ = true;
  }
  pid_t pid() const { return pid_; }
  int fd() const { return fd_; }
  const std::vector<int>& wds() const { return wds_; }

 private:
  pid_t pid_ = -1;
  bool done_ = false;
  int down_ = -1;
  int fd_ = -1;
  std::vector<int> wds_;
};

const SnapWatch* find_watch(const Snapshot& s, uint32_t pid, int fd, int wd) {
  for (const auto& inst : s.instances)
    for (const auto& h : inst.holders)
      if (h.pid == pid && h.fd == fd)
        for (const auto& w : inst.watches)
          if (w.wd == wd) return &w;
  return nullptr;
}

bool marked_truncated(const std::string& p) { return p.starts_with(kEllipsis); }

// The rule of item 10: `shown` is the whole path, or a marked tail of it; nothing else.
::testing::AssertionResult whole_or_marked(const std::string& shown, bool flag, const std::string& full) {
  if (shown == full && !flag) return ::testing::AssertionSuccess() << "whole (" << shown.size() << " bytes)";
  if (marked_truncated(shown) && flag && full.ends_with(shown.substr(kEllipsis.size())))
    return ::testing::AssertionSuccess() << "marked truncated (tail of " << shown.size() - kEllipsis.size() << " bytes)";
  return ::testing::AssertionFailure() << "neither the whole path (" << full.size() << " bytes) nor a marked tail: "
                                       << (flag ? "[flagged truncated] " : "[not flagged] ") << shown.size()
                                       << " bytes starting '" << shown.substr(0, 40) << "' ending '"
                                       << (shown.size() > 40 ? shown.substr(shown.size() - 40) : shown) << "'";
}

class PathLive : public ::testing::Test {
 protected:
  void SetUp() override { INOTRACE_REQUIRE_ROOT(); }
  TempDir dir_;
};

// Item 16: `.`, `./sub/` and `sub//x` name the same directories in trace and in snapshots.
TEST_F(PathLive, DotAndSlashPathsAreNormalisedAlikeInTraceAndSnapshot) {
  std::string sub = dir_.mkdir("sub");
  std::string x = dir_.mkdir("sub/x");
  Tracer tracer(test_tracer_options());
  EventLog log(tracer);
  log.drain();
  int cwd = open(dir_.path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(cwd, 0);
  // "sub/x/.." is sub; "link/.." (link -> sub/x) is sub too, though lexically it would be the cwd.
  ASSERT_EQ(symlink("sub/x", dir_.sub("link").c_str()), 0);
  Watcher w(cwd, {".", "./sub/", "sub//x", "sub/x/..", "link/.."}, true);
  close(cwd);
  ASSERT_EQ(w.wds().size(), 5u);
  for (int wd : w.wds()) ASSERT_GT(wd, 0);
  const std::vector<std::string> want = {dir_.path(), sub, x, sub, sub};

  // One add or update per call, in call order (the last two name an already watched inode).
  std::vector<std::string> traced;
  auto mine = [&](const Event& e) {
    return (e.type == EventType::Add || e.type == EventType::Update) && e.task.pid == (uint32_t)w.pid();
  };
  for (size_t i = 0; i < w.wds().size(); i++) {
    size_t seen = 0;
    auto ev = log.wait_for([&](const Event& e) { return mine(e) && seen++ == i; });
    ASSERT_TRUE(ev) << "call " << i;
    EXPECT_EQ(ev->wd, w.wds()[i]);
    traced.push_back(ev->path);
  }
  init_libbpf_logging(false);
  KernelFacts facts = preflight("");
  for (auto source : {SnapshotSource::Iterator, SnapshotSource::Procfs}) {
    ProcNodeView node;
    SnapshotTaker taker(source == SnapshotSource::Procfs ? nullptr : &facts, source, node);
    Snapshot snap = taker.take(true);
    for (size_t i = 0; i < want.size(); i++) {
      const SnapWatch* sw = find_watch(snap, w.pid(), w.fd(), w.wds()[i]);
      ASSERT_NE(sw, nullptr) << snap.source << " wd " << w.wds()[i];
      EXPECT_EQ(sw->path, want[i]) << snap.source;
      if (i == 4 && traced[i] == dir_.path() + "/link/..") continue;  // kept as the caller spelt it
      EXPECT_EQ(traced[i], sw->path) << "trace and " << snap.source << " snapshot must join by path";
    }
  }
  for (size_t i = 0; i < want.size(); i++) {
    std::cout << "wd " << w.wds()[i] << ": trace " << traced[i] << "\n";
    if (i == 4 && traced[i] == dir_.path() + "/link/..") continue;  // never the lexical (wrong) cwd
    EXPECT_EQ(traced[i], want[i]);
  }
}

// The iterator's bpf_loop name walk (bpf/target_path_loop.bpf.h) stops at INOTRACE_PATH_DEPTH
// (64) names as the inline walk does: it flags the path cut, and the taker names the target
// whole from its file handle. 70 one-letter directories: deep in names, short in bytes.
TEST_F(PathLive, DeeperThanTheKernelWalksNamesIsFlaggedAndNamedWhole) {
  std::string full = dir_.path();
  for (int i = 0; i < 70; i++) {
    full += "/d";
    ASSERT_EQ(mkdir(full.c_str(), 0755), 0) << full;
  }
  int fd = inotify_init1(IN_CLOEXEC);
  ASSERT_GE(fd, 0);
  int wd = inotify_add_watch(fd, full.c_str(), IN_CREATE);
  ASSERT_GT(wd, 0);
  init_libbpf_logging(false);
  KernelFacts facts = preflight("");
  ProcNodeView node;
  SnapshotTaker taker(&facts, SnapshotSource::Iterator, node);
  Snapshot snap = taker.take(true);
  const SnapWatch* sw = find_watch(snap, (uint32_t)getpid(), fd, wd);
  ASSERT_NE(sw, nullptr);
  // Kernels without bpf_loop (< 5.17) walk no names in the iterator: fdinfo names it.
  if (kernel_has_bpf_loop()) {
    EXPECT_TRUE(sw->kernel_flags & INOTRACE_F_PATH_TRUNCATED) << "64 of 70 names walked, not flagged";
    EXPECT_EQ(sw->fs_path_source, PathSource::Dentry);
  }
  EXPECT_EQ(sw->path, full);
  EXPECT_FALSE(sw->path_truncated);
  close(fd);
}

// The iterator sends a watch whose target shares its parent with the previous watch's target as
// the leaf's name alone (INOTRACE_F_PATH_SIBLING), and userspace joins it to that parent. Every
// path and flag must come out as the whole walk gives it: siblings of every name length, a
// nested watch between them, a watched sibling unlinked meanwhile, and siblings whose paths pass
// the point where the shortcut stops (PATH_MAX less a name) or PATH_MAX itself (truncated).
// Where the kernel has bpf_rdonly_cast the walk reads marks, inodes and dentries with typed
// loads: each record must be what the probe reads give, field by field.
TEST_F(PathLive, SiblingPathsAndTypedReadsAreExactlyTheProbedWholeWalks) {
  if (!kernel_has_bpf_loop()) GTEST_SKIP() << "kernel without bpf_loop: the iterator names no targets (fdinfo does)";
  const std::string root = dir_.sub("fs");
  ASSERT_EQ(::mkdir(root.c_str(), 0755), 0);
  ASSERT_EQ(mount("tmpfs", root.c_str(), "tmpfs", 0, "size=16m"), 0) << strerror(errno);
  struct Unmount {
    std::string at;
    ~Unmount() { umount2(at.c_str(), MNT_DETACH); }
  } unmount{root};

  int fd = inotify_init1(IN_CLOEXEC);
  ASSERT_GE(fd, 0);
  std::map<int, std::string> expected;  // wd -> path inside the tmpfs
  std::map<int, uint32_t> masks;        // wd -> the mask it was added with
  // Creates `rel` under the directory `at_fd` names (whose own path is `at`) and watches it
  // through /proc/self/fd, so paths past PATH_MAX can be watched too.
  auto watch_dir = [&](int at_fd, const std::string& at, const std::string& name) {
    ASSERT_EQ(mkdirat(at_fd, name.c_str(), 0755), 0) << at << "/" << name;
    // Every third with the flags the kernel keeps outside the event mask (fsn_mark.flags from
    // 5.19): the typed and the probed reads must both give them back. One-shot on an event this
    // test never causes (a created child would fire it and end the watch).
    uint32_t mask = expected.size() % 3 == 0 ? IN_MOVE_SELF | IN_ONESHOT | IN_EXCL_UNLINK : IN_CREATE | IN_DELETE;
    int wd = inotify_add_watch(fd, fmt::format("/proc/self/fd/{}/{}", at_fd, name).c_str(), mask);
    ASSERT_GT(wd, 0) << name;
    expected[wd] = at + "/" + name;
    masks[wd] = mask;
  };
  auto open_dir = [](int at_fd, const std::string& name) { return openat(at_fd, name.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC); };

  int top = open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(top, 0);
  ASSERT_EQ(mkdirat(top, "pods", 0755), 0);
  int pods = open_dir(top, "pods");
  for (int i = 0; i < 40; i++) {
    watch_dir(pods, "/pods", i == 7 ? std::string(255, 'n') : fmt::format("vol-{}{}", i, std::string(i % 5 * 9, 'x')));
    if (i == 20) {  // a nested watch breaks the run of siblings; the next ones start over
      int vol = open_dir(pods, "vol-3xxxxxxxxxxxxxxxxxxxxxxxxxxx");
      watch_dir(vol, "/pods/vol-3xxxxxxxxxxxxxxxxxxxxxxxxxxx", "deep");
      close(vol);
    }
  }
  watch_dir(pods, "/pods", "gone");
  int gone = openat(pods, "gone", O_RDONLY | O_DIRECTORY | O_CLOEXEC);  // keeps the watch past rmdir
  ASSERT_GE(gone, 0);
  watch_dir(pods, "/pods", "after-gone");
  // Chains whose leaf-first names take ~3,700 and ~3,950 bytes: a sibling of 3 bytes fits the
  // shortcut under the first only; 255-byte siblings are whole under the first and truncated
  // under the second.
  std::vector<int> held;
  for (size_t target : {3700u, 3950u}) {
    std::string at = fmt::format("/chain-{}", target);
    ASSERT_EQ(mkdirat(top, at.c_str() + 1, 0755), 0);
    int dfd = open_dir(top, at.c_str() + 1);
    size_t names = at.size();
    for (int i = 0; names < target; i++) {
      std::string comp = std::string(200, 'D') + std::to_string(i);
      ASSERT_EQ(mkdirat(dfd, comp.c_str(), 0755), 0);
      int next = open_dir(dfd, comp);
      close(dfd);
      dfd = next;
      at += "/" + comp;
      names += comp.size() + 1;
    }
    for (const std::string& name : {std::string("s1"), std::string(255, 't'), std::string("s2"), std::string(250, 'u')})
      watch_dir(dfd, at, name);
    held.push_back(dfd);
  }
  ASSERT_EQ(unlinkat(pods, "gone", AT_REMOVEDIR), 0);

  init_libbpf_logging(false);
  KernelFacts facts = preflight("");
  IterSource shortcut(facts);
  IterSource probed_shortcut(facts, IterSourceOptions{.typed_reads = false});
  IterSource whole(facts, IterSourceOptions{.sibling_paths = false, .typed_reads = false});
  EXPECT_EQ(shortcut.typed_reads(), typed_read_ids(kRunningKernelBtf).has_value())
      << "typed reads are the walk wherever the kernel has bpf_rdonly_cast";
  if (!shortcut.typed_reads()) std::cout << "[  NOTE    ] kernel without bpf_rdonly_cast: no typed walk to compare\n";
  EXPECT_FALSE(probed_shortcut.typed_reads());
  EXPECT_FALSE(whole.typed_reads());
  Snapshot a = shortcut.take(true), p = probed_shortcut.take(true), b = whole.take(true);
  EXPECT_GE(shortcut.sibling_paths(), 40u) << "the shortcut was not taken";
  EXPECT_GE(probed_shortcut.sibling_paths(), 40u) << "the shortcut was not taken";
  EXPECT_EQ(whole.sibling_paths(), 0u);
  auto mine = [&](const Snapshot& s) -> std::map<int, const SnapWatch*> {
    std::map<int, const SnapWatch*> by_wd;
    for (const auto& inst : s.instances)
      for (const auto& h : inst.holders)
        if (h.pid == (uint32_t)getpid() && h.fd == fd)
          for (const auto& w : inst.watches) by_wd[w.wd] = &w;
    return by_wd;
  };
  for (const Snapshot* s : {&a, &p, &b}) {  // every walk whole: none raced nor was cut short
    for (const auto& inst : s->instances)
      for (const auto& h : inst.holders)
        if (h.pid == (uint32_t)getpid() && h.fd == fd) {
          EXPECT_FALSE(inst.truncated) << s->source;
        }
  }
  auto got = mine(a), ref = mine(b), got_probed = mine(p);
  ASSERT_EQ(got.size(), expected.size());
  ASSERT_EQ(ref.size(), expected.size());
  ASSERT_EQ(got_probed.size(), expected.size());
  int truncated = 0;
  for (const auto& [wd, rel] : expected) {
    const SnapWatch& w = *got.at(wd);
    const SnapWatch& r = *ref.at(wd);
    const SnapWatch& q = *got_probed.at(wd);
    EXPECT_EQ(w.fs_path, r.fs_path) << rel;
    EXPECT_EQ(w.kernel_flags, r.kernel_flags) << rel;
    EXPECT_EQ(q.fs_path, r.fs_path) << rel;
    EXPECT_EQ(q.kernel_flags, r.kernel_flags) << rel;
    for (const SnapWatch* x : {&w, &q}) {
      EXPECT_EQ(x->ino, r.ino) << rel;
      EXPECT_EQ(x->dev, r.dev) << rel;
      EXPECT_EQ(x->mask, r.mask) << rel;
    }
    EXPECT_NE(r.ino, 0u) << rel;
    EXPECT_EQ(r.mask, masks.at(wd)) << rel;
    EXPECT_EQ(w.fs_path_source, PathSource::Dentry) << rel;
    EXPECT_FALSE(w.kernel_flags & INOTRACE_F_PATH_SIBLING) << rel;
    EXPECT_EQ(bool(w.kernel_flags & INOTRACE_F_PATH_UNLINKED), rel == "/pods/gone") << rel;
    if (rel.size() <= INOTRACE_PATH_MAX) {  // the leaf-first names are as long as the path
      EXPECT_EQ(w.fs_path, rel);
      EXPECT_FALSE(w.kernel_flags & INOTRACE_F_PATH_TRUNCATED) << rel.size() << " bytes";
    } else {
      truncated++;
      EXPECT_TRUE(w.kernel_flags & INOTRACE_F_PATH_TRUNCATED) << rel.size() << " bytes";
      EXPECT_TRUE(rel.ends_with(w.fs_path)) << w.fs_path.size() << " of " << rel.size() << " bytes";
    }
  }
  EXPECT_GE(truncated, 2) << "no sibling passed PATH_MAX: the test lost its edge";
  for (int h : held) close(h);
  close(gone);
  close(pods);
  close(top);
  close(fd);
}

// Where the kernel's verifier refuses the typed walk, the probed walk loads, says so, and names
// the watches: the casts are linked to a kernel function that is no kfunc, which every verifier
// refuses.
TEST_F(PathLive, RefusedTypedSnapshotWalkFallsBackToProbeReads) {
  if (!kernel_has_bpf_loop() || !typed_read_ids(kRunningKernelBtf))
    GTEST_SKIP() << "SKIPPED: this kernel loads no typed snapshot walk (it needs bpf_loop, 5.17+, and the "
                    "bpf_rdonly_cast kfunc, 6.2+): nothing to refuse";
  std::string d = dir_.mkdir("refused");
  struct stat st{};
  ASSERT_EQ(stat(d.c_str(), &st), 0);
  Watcher w(-1, {d}, true);
  ASSERT_EQ(w.wds().size(), 1u);
  ASSERT_GT(w.wds()[0], 0);
  int not_a_kfunc = kernel_func_id(kRunningKernelBtf, "inotify_freeing_mark");
  ASSERT_GT(not_a_kfunc, 0);
  init_libbpf_logging(false);
  KernelFacts facts = preflight("");
  ::testing::internal::CaptureStderr();
  IterSource refused(facts, IterSourceOptions{.typed_cast_func_for_test = not_a_kfunc});
  std::string said = ::testing::internal::GetCapturedStderr();
  EXPECT_FALSE(refused.typed_reads());
  EXPECT_NE(said.find("the typed-read program snapshot_files_typed did not load"), std::string::npos) << said;
  EXPECT_NE(said.find("walking with probe reads instead"), std::string::npos) << "the fallback is said, not silent: " << said;
  Snapshot s = refused.take(true);
  const SnapWatch* sw = find_watch(s, w.pid(), w.fd(), w.wds()[0]);
  ASSERT_NE(sw, nullptr) << "the probed walk lists the watch";
  EXPECT_EQ(sw->ino, st.st_ino);
  EXPECT_EQ(sw->fs_path_source, PathSource::Dentry);
  EXPECT_TRUE(sw->fs_path.ends_with("/refused")) << sw->fs_path;
}

// Only the typed walk's own refusal is retried with probe reads: a load that fails for another
// reason (here a ring buffer of 0 bytes, which no kernel creates) would fail the probed walk the
// same way, and says so once, with the advice that fits it.
TEST_F(PathLive, AnIteratorLoadFailingForAnotherReasonIsNotRetriedWithProbeReads) {
  if (!kernel_has_bpf_loop() || !typed_read_ids(kRunningKernelBtf))
    GTEST_SKIP() << "SKIPPED: this kernel loads no typed snapshot walk (it needs bpf_loop, 5.17+, and the "
                    "bpf_rdonly_cast kfunc, 6.2+): no fallback to hold back";
  init_libbpf_logging(false);
  KernelFacts facts = preflight("");
  ::testing::internal::CaptureStderr();
  std::string error;
  try {
    IterSource broken(facts, IterSourceOptions{.ringbuf_bytes = 0});
  } catch (const Error& e) {
    error = e.what();
  }
  std::string said = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(error.find("loading the snapshot iterator failed"), std::string::npos) << "error: " << error;
  EXPECT_EQ(said.find("walking with probe reads instead"), std::string::npos) << said;
}

// A directory chain deeper than PATH_MAX, made relative to fds (no path string could name it).
struct DeepChain {
  std::string full;  // the whole path of the leaf, > 6000 bytes
  int parent_fd = -1;  // the leaf's parent, O_PATH
  explicit DeepChain(const std::string& root) {
    std::string comp(200, 'D');
    int fd = open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    full = root;
    for (int i = 0; full.size() < 6200; i++) {
      std::string name = comp + std::to_string(i);
      if (mkdirat(fd, name.c_str(), 0755) != 0) throw std::runtime_error("mkdirat");
      int next = openat(fd, name.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
      close(fd);
      fd = next;
      full += "/" + name;
    }
    if (mkdirat(fd, "leaf", 0755) != 0) throw std::runtime_error("mkdirat leaf");
    full += "/leaf";
    parent_fd = fd;
  }
  ~DeepChain() { close(parent_fd); }
};

// Item 10: a watch deeper than PATH_MAX, held by a live watcher, then by one that exited.
TEST_F(PathLive, WatchDeeperThanPathMaxIsWholeOrMarkedEverywhereAndNeverStale) {
  DeepChain chain(dir_.path());
  ASSERT_GT(chain.full.size(), 6000u);
  MonitorOptions mo;
  mo.session.tracer = test_tracer_options();
  mo.session.reconcile_interval_s = 0.2;
  mo.pods_root = dir_.sub("no-pods");
  mo.kubepods_cgroup = "none";
  mo.stale_every = 1;
  NodeMonitor monitor(mo, [](const std::string&) {});
  // What `inotrace trace` runs: a session (removals are named from its table).
  SessionOptions so;
  so.tracer = test_tracer_options();
  so.reconcile_interval_s = 0.3;
  TraceSession session(so, [](const std::string&) {});
  EventLog log(session);
  log.drain();

  Watcher live(chain.parent_fd, {"leaf"}, true);
  ASSERT_EQ(live.wds().size(), 1u);
  int wd = live.wds()[0];
  ASSERT_GT(wd, 0);

  // trace: the event, its text line and its JSON line.
  auto ev = log.wait_for([&](const Event& e) { return e.type == EventType::Add && e.task.pid == (uint32_t)live.pid(); });
  ASSERT_TRUE(ev);
  bool flagged = ev->flags & INOTRACE_F_PATH_TRUNCATED;
  EXPECT_TRUE(whole_or_marked(ev->path, flagged, chain.full)) << "trace event";
  std::cout << "trace event: " << whole_or_marked(ev->path, flagged, chain.full).message() << "\n";
  WallClock clock;
  auto j = nlohmann::json::parse(event_to_json_line(*ev, clock, "test"));
  EXPECT_TRUE(whole_or_marked(j["path"], j.value("path_truncated", false), chain.full)) << "trace --json";
  std::string text = event_to_text(*ev, clock);
  EXPECT_TRUE(text.find(chain.full) != std::string::npos || text.find(std::string(kEllipsis) + "/") != std::string::npos)
      << "trace text";

  // snapshot, both sources.
  init_libbpf_logging(false);
  KernelFacts facts = preflight("");
  for (auto source : {SnapshotSource::Iterator, SnapshotSource::Procfs}) {
    ProcNodeView node;
    SnapshotTaker taker(source == SnapshotSource::Procfs ? nullptr : &facts, source, node);
    Snapshot snap = taker.take(true);
    const SnapWatch* sw = find_watch(snap, live.pid(), live.fd(), wd);
    ASSERT_NE(sw, nullptr) << snap.source;
    if (sw->path.empty()) {
      EXPECT_FALSE(sw->path_note.empty()) << snap.source << ": no path must say why";
    } else {
      EXPECT_TRUE(whole_or_marked(sw->path, sw->path_truncated, chain.full)) << snap.source << " snapshot";
      std::cout << snap.source << " snapshot: " << whole_or_marked(sw->path, sw->path_truncated, chain.full).message() << "\n";
    }
  }

  // daemon: its table, and its stale view (checked at every evaluation here).
  const WatchEntry* entry = nullptr;
  for (int i = 0; i < 100 && !entry; i++) {
    monitor.step(50);
    for (const auto& [g, inst] : monitor.session().table().instances())
      for (const auto& h : inst.holders)
        if (h.pid == (uint32_t)live.pid())
          if (auto it = inst.watches.find(wd); it != inst.watches.end()) entry = &it->second;
  }
  ASSERT_NE(entry, nullptr) << "the daemon's table never got the watch";
  monitor.evaluate_now();
  auto daemon = whole_or_marked(monitor.session().table().path_of(*entry), entry->path_truncated, chain.full);
  EXPECT_TRUE(daemon) << "daemon table";
  std::cout << "daemon table: " << daemon.message() << "; stale entries: " << monitor.leaks().stale().size() << "\n";
  for (const auto& s : monitor.leaks().stale())
    EXPECT_FALSE(s.wd == wd && s.pid == (uint32_t)live.pid()) << "a live watch judged stale: " << s.why;

  // The removal (rm_watch by exit: instance closed) keeps the same rule.
  log.clear();
  live.finish();
  auto rm = log.wait_for([&](const Event& e) { return e.type == EventType::Remove && e.wd == wd && e.ino == ev->ino; },
                         std::chrono::seconds(5));
  ASSERT_TRUE(rm);
  EXPECT_TRUE(whole_or_marked(rm->path, rm->flags & INOTRACE_F_PATH_TRUNCATED, chain.full)) << "removal";
  std::cout << "removal: " << whole_or_marked(rm->path, rm->flags & INOTRACE_F_PATH_TRUNCATED, chain.full).message() << "\n";

  // A watcher that exits at once: nothing left to resolve through, so marked.
  log.clear();
  Watcher gone(chain.parent_fd, {"leaf"}, false);
  gone.finish();
  auto ev2 = log.wait_for([&](const Event& e) { return e.type == EventType::Add && e.task.pid == (uint32_t)gone.pid(); });
  ASSERT_TRUE(ev2);
  EXPECT_TRUE(whole_or_marked(ev2->path, ev2->flags & INOTRACE_F_PATH_TRUNCATED, chain.full)) << "exited watcher";
  std::cout << "exited watcher's add: " << whole_or_marked(ev2->path, ev2->flags & INOTRACE_F_PATH_TRUNCATED, chain.full).message() << "\n";
}

// Item 17: a watcher that adds and exits before its events are read. Paths inside a filesystem
// (what the kernel's dentry walk gives) must never pass for absolute paths: they are joined
// with their mount, or carry "MAJ:MIN:" in front.
TEST_F(PathLive, ExitedWatchersPathsAreAbsoluteOrMarkedNeverFilesystemRelative) {
  std::string mnt = dir_.mkdir("mnt");
  ASSERT_EQ(mount("inotrace-test", mnt.c_str(), "tmpfs", 0, "size=1m"), 0) << strerror(errno);
  std::string gone_mnt = dir_.mkdir("gone");
  ASSERT_EQ(mount("inotrace-test", gone_mnt.c_str(), "tmpfs", 0, "size=1m"), 0) << strerror(errno);
  struct Unmount {
    std::vector<std::string> at;
    ~Unmount() {
      for (const auto& p : at) umount2(p.c_str(), MNT_DETACH);
    }
  } unmount{{mnt, gone_mnt, dir_.sub("late")}};
  ASSERT_EQ(mkdir((mnt + "/sub").c_str(), 0755), 0);
  ASSERT_EQ(close(open((mnt + "/sub/f").c_str(), O_CREAT | O_WRONLY, 0644)), 0);
  ASSERT_EQ(mkdir((gone_mnt + "/sub").c_str(), 0755), 0);
  KernelDev live_dev = stat_target(mnt).dev, gone_dev = stat_target(gone_mnt).dev;

  SessionOptions so;
  so.tracer = test_tracer_options();
  so.reconcile_interval_s = 0.3;
  TraceSession session(so, [](const std::string&) {});
  EventLog log(session);
  log.drain();
  // A tmpfs mounted after the session read the mount tables, and gone before its events are
  // read: nothing can name its mount any more.
  std::string late_mnt = dir_.mkdir("late");
  ASSERT_EQ(mount("inotrace-test", late_mnt.c_str(), "tmpfs", 0, "size=1m"), 0) << strerror(errno);
  ASSERT_EQ(mkdir((late_mnt + "/sub").c_str(), 0755), 0);
  KernelDev late_dev = stat_target(late_mnt).dev;
  // A fast add/rm burst by watchers that exit at once; nothing is read until all are gone and
  // two of the tmpfs are unmounted.
  std::vector<std::string> targets = {mnt, mnt + "/sub", mnt + "/sub/f", gone_mnt, gone_mnt + "/sub", late_mnt,
                                      late_mnt + "/sub"};
  std::set<std::string> expected(targets.begin(), targets.end());
  std::set<uint32_t> watchers;  // (tmpfs device numbers are reused at once: other tests' events may share them)
  for (int i = 0; i < 20; i++) {
    Watcher w(-1, targets, false);
    w.finish();
    watchers.insert(w.pid());
  }
  ASSERT_EQ(umount2(gone_mnt.c_str(), 0), 0) << strerror(errno);
  ASSERT_EQ(umount2(late_mnt.c_str(), 0), 0) << strerror(errno);
  auto events = log.collect([&](const Event& e) {
    return e.is_watch_event() && watchers.count(e.task.pid) &&
           (e.dev == live_dev || e.dev == gone_dev || e.dev == late_dev);
  }, std::chrono::milliseconds(2500));
  ASSERT_GE(events.size(), 140u) << "expected 140 adds and their removals";
  size_t absolute = 0, marked = 0;
  for (const auto& e : events) {
    std::string where = fmt::format("{} wd {} path_source {} path '{}'", event_type_name(e.type), e.wd,
                                    path_source_name(e.path_source), e.path);
    if (!e.path.empty() && e.path[0] == '/') {
      EXPECT_TRUE(expected.count(e.path)) << "an absolute-looking path that is not the target's: " << where;
      absolute++;
    } else {
      std::string prefix = e.dev.str() + ":/";
      EXPECT_TRUE(e.path.starts_with(prefix)) << "neither absolute nor marked MAJ:MIN:/: " << where;
      EXPECT_TRUE(e.path_source == PathSource::Dentry || e.path_source == PathSource::Kernfs) << where;
      marked++;
    }
  }
  RecordProperty("absolute", (int)absolute);
  RecordProperty("marked", (int)marked);
  std::cout << "events " << events.size() << ": absolute " << absolute << ", marked " << marked << "\n";
}

}  // namespace
}  // namespace inotrace::testing
