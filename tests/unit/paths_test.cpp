// Path spelling and marking (items 16, 10, 17 of issue 11): one normalisation for every
// output; paths known only in part never look like whole absolute paths.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <fstream>
#include <string>

#include "paths/dotdot_walk.h"
#include "paths/event_paths.h"
#include "support/fake_node_view.h"
#include "paths/marked_paths.h"
#include "paths/normalize_path.h"
#include "util/unique_fd.h"

namespace inotrace {
namespace {

TEST(NormalizePath, DropsDotsAndRepeatedAndTrailingSlashes) {
  EXPECT_EQ(normalize_path("/cwd/."), "/cwd");
  EXPECT_EQ(normalize_path("/cwd/./sub/"), "/cwd/sub");
  EXPECT_EQ(normalize_path("/cwd/sub//x"), "/cwd/sub/x");
  EXPECT_EQ(normalize_path("//a///b/./"), "/a/b");
  EXPECT_EQ(normalize_path("/"), "/");
  EXPECT_EQ(normalize_path("/."), "/");
  EXPECT_EQ(normalize_path("."), ".");
  EXPECT_EQ(normalize_path("./"), ".");
  EXPECT_EQ(normalize_path("./x"), "x");
  EXPECT_EQ(normalize_path(""), "");
  EXPECT_EQ(normalize_path("/a/.hidden/..."), "/a/.hidden/...");
}

// The per-event check that spares the copy agrees with the copy on every spelling.
TEST(NormalizePath, IsNormalPathIsExactlyNormalizeLeavingItAlone) {
  for (std::string p : {"", "/", ".", "./", "/.", "//", "/a", "/a/", "/a//b", "/a/./b", "/a/.", "a", "a/", "./a",
                        "a/./b", "a//b", "/a/.hidden", "/a/..", "/a/...", "/.a", "..", "/..", "a/b/c", "/a/b/c/",
                        "///", "/./", "x/.", "/var/lib/kubelet/pods/u/volumes"})
    EXPECT_EQ(is_normal_path(p), normalize_path(p) == p) << p;
}

TEST(NormalizePath, KeepsDotDot) {
  // "a/.." is not "" when a is a symlink: only the kernel's walk may say what it names.
  EXPECT_EQ(normalize_path("/a/b/../c"), "/a/b/../c");
  EXPECT_EQ(normalize_path("../x/"), "../x");
}

TEST(NormalizePath, DotDotGuessIsOnlyLexical) {
  EXPECT_TRUE(has_dotdot("/a/b/../c"));
  EXPECT_TRUE(has_dotdot("/a/.."));
  EXPECT_TRUE(has_dotdot(".."));
  EXPECT_FALSE(has_dotdot("/a/..b/c.."));
  EXPECT_FALSE(has_dotdot("/a/.../c"));
  EXPECT_EQ(drop_dotdot_lexically("/a/b/../c"), "/a/c");
  EXPECT_EQ(drop_dotdot_lexically("/a/.."), "/");
  EXPECT_EQ(drop_dotdot_lexically("/../x"), "/x");
  EXPECT_EQ(drop_dotdot_lexically("/a/b/../../c/./d"), "/c/d");
}

TEST(MarkedPaths, NeverStartWithASlash) {
  EXPECT_EQ(truncated_path("/d/leaf"), "\xe2\x80\xa6/d/leaf");
  EXPECT_EQ(truncated_path("d/leaf"), "\xe2\x80\xa6/d/leaf");
  EXPECT_EQ(fs_relative_path(KernelDev{(0u << 20) | 22}, "/sub"), "0:22:/sub");
  EXPECT_EQ(fs_relative_path(KernelDev{(8u << 20) | 1}, "/"), "8:1:/");
}

// A fake procfs: pid 100 is alive in namespace inode N with the given mountinfo; other pids
// have exited.
class FakeProc {
 public:
  FakeProc() {
    char tmpl[] = "/tmp/inotrace-fakeproc.XXXXXX";
    root_ = mkdtemp(tmpl);
  }
  ~FakeProc() {
    unlink((root_ + "/100/ns/mnt").c_str());
    unlink((root_ + "/100/mountinfo").c_str());
    unlink((root_ + "/self/mountinfo").c_str());
    rmdir((root_ + "/100/ns").c_str());
    rmdir((root_ + "/100/root").c_str());
    rmdir((root_ + "/100").c_str());
    rmdir((root_ + "/self").c_str());
    rmdir(root_.c_str());
  }
  void pid100(const std::string& mountinfo) {
    mkdir((root_ + "/100").c_str(), 0755);
    mkdir((root_ + "/100/ns").c_str(), 0755);
    mkdir((root_ + "/100/root").c_str(), 0755);  // its root (a directory stands in for the link)
    write(root_ + "/100/ns/mnt", "");
    write(root_ + "/100/mountinfo", mountinfo);
  }
  void self(const std::string& mountinfo) {
    mkdir((root_ + "/self").c_str(), 0755);
    write(root_ + "/self/mountinfo", mountinfo);
  }
  const std::string& root() const { return root_; }

 private:
  static void write(const std::string& p, const std::string& text) {
    UniqueFd fd(open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    ASSERT_TRUE(fd);
    ASSERT_EQ(::write(fd.get(), text.data(), text.size()), (ssize_t)text.size());
  }
  std::string root_;
};

Event dentry_event(uint32_t pid, int32_t mnt_id, KernelDev dev, std::string fs_path) {
  Event ev;
  ev.type = EventType::Add;
  ev.task.pid = ev.task.tid = pid;
  ev.mnt_id = mnt_id;
  ev.dev = dev;
  ev.path = std::move(fs_path);
  ev.path_source = PathSource::Dentry;
  return ev;
}

constexpr KernelDev kTmpfs{22};  // 0:22

TEST(EventPathCompleter, WatcherAliveJoinsItsOwnMount) {
  FakeProc proc;
  proc.pid100("40 1 0:22 / /tmp/oracle rw - tmpfs tmpfs rw\n");
  ProcNodeView node(proc.root());
  EventPathCompleter c(node);
  Event ev = dentry_event(100, 40, kTmpfs, "/sub/f");
  c.complete(ev);
  EXPECT_EQ(ev.path, "/tmp/oracle/sub/f");
  EXPECT_EQ(ev.path_source, PathSource::Mount);
}

TEST(EventPathCompleter, ExitedWatcherIsNamedByAMountSeenBefore) {
  FakeProc proc;
  proc.pid100("40 1 0:22 / /tmp/oracle rw - tmpfs tmpfs rw\n");
  ProcNodeView node(proc.root());
  EventPathCompleter c(node);
  Event first = dentry_event(100, 40, kTmpfs, "/a");
  c.complete(first);  // reads pid 100's namespace
  Event ev = dentry_event(4242, 40, kTmpfs, "/sub/f");  // pid 4242 has exited
  c.complete(ev);
  EXPECT_EQ(ev.path, "/tmp/oracle/sub/f");
  EXPECT_EQ(ev.path_source, PathSource::Mount);
}

TEST(EventPathCompleter, ExitedWatcherIsNamedByOurOwnNamespace) {
  FakeProc proc;
  proc.self("41 1 0:22 / /tmp/oracle-kprobe rw - tmpfs tmpfs rw\n");
  ProcNodeView node(proc.root());
  EventPathCompleter c(node);
  Event ev = dentry_event(4242, 41, kTmpfs, "/e_oneshot.fast.file");
  c.complete(ev);
  EXPECT_EQ(ev.path, "/tmp/oracle-kprobe/e_oneshot.fast.file");
}

TEST(EventPathCompleter, UnknownMountIsMarkedWithTheDevice) {
  FakeProc proc;
  proc.self("1 0 8:1 / / rw - ext4 /dev/sda1 rw\n");
  ProcNodeView node(proc.root());
  EventPathCompleter c(node);
  Event ev = dentry_event(4242, 77, kTmpfs, "/sub");
  c.complete(ev);
  EXPECT_EQ(ev.path, "0:22:/sub");
  EXPECT_EQ(ev.path_source, PathSource::Dentry);
  Event root = dentry_event(4242, 77, kTmpfs, "/");
  c.complete(root);
  EXPECT_EQ(root.path, "0:22:/");
}

TEST(EventPathCompleter, ReusedMountIdOfAnotherFilesystemIsNotTrusted) {
  FakeProc proc;
  proc.self("41 1 0:23 / /elsewhere rw - tmpfs tmpfs rw\n");  // id 41 now names 0:23
  ProcNodeView node(proc.root());
  EventPathCompleter c(node);
  Event ev = dentry_event(4242, 41, kTmpfs, "/sub");
  c.complete(ev);
  EXPECT_EQ(ev.path, "0:22:/sub");
}

TEST(EventPathCompleter, NodeViewsTablesNameExitedWatchers) {
  MountEntry m;
  m.mount_id = 55;
  m.dev = kTmpfs;
  m.root = "/";
  m.mount_point = "/var/lib/kubelet/pods/u/volumes/v";
  FakeNodeView node(MountNamespaces::from({NamespaceMounts{7, 999, {m}}}));
  EventPathCompleter c(node);
  Event ev = dentry_event(4242, 55, kTmpfs, "/token");
  c.complete(ev);
  EXPECT_EQ(ev.path, "/var/lib/kubelet/pods/u/volumes/v/token");
}

TEST(EventPathCompleter, TruncatedKernelWalkIsMarkedNotJoined) {
  FakeProc proc;
  proc.pid100("40 1 0:22 / /tmp/oracle rw - tmpfs tmpfs rw\n");
  ProcNodeView node(proc.root());
  EventPathCompleter c(node);
  Event ev = dentry_event(100, 40, kTmpfs, "/DDD/leaf");
  ev.flags = INOTRACE_F_PATH_TRUNCATED;
  c.complete(ev);
  EXPECT_EQ(ev.path, "\xe2\x80\xa6/DDD/leaf");
  EXPECT_TRUE(ev.flags & INOTRACE_F_PATH_TRUNCATED);
}

TEST(EventPathCompleter, AbsoluteSyscallPathIsNormalised) {
  ProcNodeView node("/nonexistent-proc");
  EventPathCompleter c(node);
  Event ev;
  ev.path = "/tmp/x/./sub//";
  ev.path_source = PathSource::Syscall;
  c.complete(ev);
  EXPECT_EQ(ev.path, "/tmp/x/sub");
}

TEST(DotdotWalk, NamesADirectoryDeeperThanPathMax) {
  char tmpl[] = "/tmp/inotrace-walk.XXXXXX";
  std::string root = mkdtemp(tmpl);
  struct stat rst;
  ASSERT_EQ(stat(root.c_str(), &rst), 0);
  UniqueFd fd(open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  std::string rel, name(250, 'n');
  std::vector<UniqueFd> chain;
  while (rel.size() < 5000) {
    ASSERT_EQ(mkdirat(fd.get(), name.c_str(), 0755), 0);
    fd = UniqueFd(openat(fd.get(), name.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(fd);
    rel += "/" + name;
  }
  auto walk = walk_dotdot(fd.get(), rst.st_dev, rst.st_ino);
  ASSERT_TRUE(walk);
  EXPECT_TRUE(walk->reached_stop);
  EXPECT_EQ(walk->path, rel);
  auto top = walk_dotdot(fd.get(), 0, 0);  // no stop: up to our root
  ASSERT_TRUE(top);
  EXPECT_EQ(top->path, root + rel);
  // clean up, deepest first
  for (size_t n = rel.size() / (name.size() + 1); n > 0; n--) {
    UniqueFd p(open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    for (size_t i = 0; i + 1 < n; i++) p = UniqueFd(openat(p.get(), name.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    unlinkat(p.get(), name.c_str(), AT_REMOVEDIR);
  }
  rmdir(root.c_str());
}

}  // namespace
}  // namespace inotrace

namespace inotrace {
namespace {

// Where whether root made a pod-named cgroup cannot be told, the name decides (documented in
// ProcNodeView::identify): a path above our cgroup namespace's root, as a pod of its own on a
// cgroup v2 node reads the others' ("/../../kubepods/..."), or a cgroup gone meanwhile. (The
// owner check itself, and a path near PATH_MAX, are live: SnapshotLive.APodNamedCgroup...)
TEST(ProcNodeView, APodCgroupThatCannotBeLookedAtIsNamedByItsPath) {
  char tmpl[] = "/tmp/inotrace-fakeproc.XXXXXX";
  const std::string root = mkdtemp(tmpl);
  ASSERT_EQ(mkdir((root + "/7").c_str(), 0755), 0);
  const std::string uid = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9";
  for (const std::string& path : {"/../../kubepods/burstable/pod" + uid + "/abc",
                                  fmt::format("/inotrace-gone-{}/kubepods/burstable/pod{}", getpid(), uid)}) {
    SCOPED_TRACE(path);
    std::ofstream(root + "/7/cgroup", std::ios::trunc) << "0::" << path << "\n";
    ProcNodeView view(root, RuntimeStateDirs{"/nonexistent", "/nonexistent", "/nonexistent"});
    auto w = view.workload_of(7);
    ASSERT_TRUE(w);
    EXPECT_EQ(w->pod_uid, uid);
    EXPECT_EQ(w->qos, "burstable");
  }
  unlink((root + "/7/cgroup").c_str());
  rmdir((root + "/7").c_str());
  rmdir(root.c_str());
}

}  // namespace
}  // namespace inotrace
