// Leak rules on a fake node: a fake pods root and cgroup tree on disk, fake mount tables, and a
// watch table built from events.
#include <gtest/gtest.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "leaks/leak_detector.h"
#include "leaks/pod_index.h"
#include "leaks/pod_paths.h"
#include "paths/mount_join.h"
#include "paths/mount_namespaces.h"
#include "paths/mount_views.h"
#include "support/fake_node_view.h"
#include "snapshot/snapshot_paths.h"
#include "table/removal_deduction.h"

namespace inotrace {
namespace {

namespace fs = std::filesystem;

TEST(PodPaths, UidFromThePodsRoot) {
  EXPECT_EQ(pod_uid_from_path("/var/lib/kubelet/pods/1c2d-33/volumes/kubernetes.io~projected/x", "/var/lib/kubelet/pods"),
            "1c2d-33");
  EXPECT_EQ(pod_uid_from_path("/data/kubelet/pods/abc/volumes", "/data/kubelet/pods"), "abc");
  EXPECT_EQ(pod_uid_from_path("/data/kubelet/pods/abc", "/data/kubelet/pods/"), "abc") << "trailing slash on the root";
  EXPECT_EQ(pod_uid_from_path("/data/kubelet/pods", "/data/kubelet/pods"), std::nullopt) << "the root itself";
  EXPECT_EQ(pod_uid_from_path("/data/kubelet/podsX/abc", "/data/kubelet/pods"), std::nullopt);
}

TEST(PodPaths, UidFromTheKubeletShapeUnderAnotherRoot) {
  // A containerized mounter's rootfs.
  EXPECT_EQ(pod_uid_from_path("/home/kubernetes/containerized_mounter/rootfs/var/lib/kubelet/pods/9f-1/volumes/kubernetes.io~projected/kube-api-access-x",
                              "/var/lib/kubelet/pods"),
            "9f-1");
  EXPECT_EQ(pod_uid_from_path("/tmp/root/var/lib/kubelet/pods/u1", "/srv/pods"), "u1");
  EXPECT_EQ(pod_uid_from_path("/etc/kubernetes/pki/ca.crt", "/var/lib/kubelet/pods"), std::nullopt);
  EXPECT_EQ(pod_uid_from_path("/var/lib/kubelet/pods/../etc", "/var/lib/kubelet/pods"), std::nullopt);
  EXPECT_EQ(pod_uid_from_path("/var/lib/kubelet/pods/we ird/x", "/var/lib/kubelet/pods"), std::nullopt);
}

TEST(PodIndex, CgroupNamesOfBothDrivers) {
  EXPECT_EQ(pod_uid_from_cgroup_name("kubepods-besteffort-pod12ab_34cd.slice"), "12ab-34cd");
  EXPECT_EQ(pod_uid_from_cgroup_name("kubepods-pod9_9.slice"), "9-9");
  EXPECT_EQ(pod_uid_from_cgroup_name("pod12ab-34cd"), "12ab-34cd");
  EXPECT_EQ(pod_uid_from_cgroup_name("besteffort"), std::nullopt);
  EXPECT_EQ(pod_uid_from_cgroup_name("kubepods-besteffort.slice"), std::nullopt) << "the 'pod' of kubepods";
  EXPECT_EQ(pod_uid_from_cgroup_name("kubepods.slice"), std::nullopt);
}

class FakeNode : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("inotrace-node-" + std::to_string(getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "pods");
    fs::create_directories(root_ / "cgroup");
  }
  void TearDown() override { fs::remove_all(root_); }
  std::string pods_dir() const { return (root_ / "pods").string(); }
  std::string cgroup() const { return (root_ / "cgroup").string(); }
  void make_pod_dir(const std::string& uid) { fs::create_directories(root_ / "pods" / uid); }
  void make_pod_cgroup(const std::string& rel) { fs::create_directories(root_ / "cgroup" / rel); }

  fs::path root_;
};

Event add(uint64_t group, int wd, uint32_t dev, uint64_t ino, std::string path) {
  Event e;
  e.type = EventType::Add;
  e.instance = InstanceId{group, 1};
  e.wd = wd;
  e.fd = 3;
  e.task = TaskInfo{4242, 4242, 0, 0, "kubelet"};
  e.dev = KernelDev{dev};
  e.ino = ino;
  e.mask = IN_MODIFY;
  e.path = std::move(path);
  e.path_source = PathSource::Syscall;
  return e;
}

MountEntry mount_of(uint32_t dev, std::string root, std::string point) {
  MountEntry m;
  m.dev = KernelDev{dev};
  m.root = std::move(root);
  m.mount_point = std::move(point);
  m.fstype = "tmpfs";
  return m;
}

constexpr uint32_t kTmpfsDead = (0 << 20) | 101;
constexpr uint32_t kTmpfsLive = (0 << 20) | 102;
constexpr uint32_t kTmpfsOrphan = (0 << 20) | 103;

TEST_F(FakeNode, PinnedDeadPodIsFlaggedWithItsPin) {
  make_pod_dir("live-1");
  PodIndex pods(pods_dir(), "none");
  WatchTable t;
  std::string dead_vol = pods_dir() + "/dead-1/volumes/kubernetes.io~projected/kube-api-access-x";
  t.apply(add(0xa, 1, kTmpfsDead, 1, dead_vol));
  t.apply(add(0xa, 2, kTmpfsLive, 1, pods_dir() + "/live-1/volumes/kubernetes.io~projected/kube-api-access-y"));
  t.apply(add(0xa, 3, 2049, 77, "/etc/hosts"));
  // The kubelet path is unmounted; the mounter's copy in the same namespace still pins it.
  FakeNodeView mounts(MountNamespaces::from({NamespaceMounts{4026531840, 1,
      {mount_of(kTmpfsDead, "/", "/home/kubernetes/containerized_mounter/rootfs/var/lib/kubelet/pods/dead-1/volumes/kubernetes.io~projected/kube-api-access-x"),
       mount_of(kTmpfsLive, "/", pods_dir() + "/live-1/volumes/kubernetes.io~projected/kube-api-access-y")}}}));
  LeakDetector d(pods);
  d.evaluate(t, mounts, 1000, false, 1000);
  ASSERT_EQ(d.leaks().size(), 1u);
  const Leak& l = d.leaks()[0];
  EXPECT_EQ(l.pod_uid, "dead-1");
  EXPECT_EQ(l.reason, "pod_deleted");
  EXPECT_EQ(l.wd, 1);
  EXPECT_EQ(l.pid, 4242u);
  EXPECT_EQ(l.comm, "kubelet");
  EXPECT_EQ(l.path, dead_vol);
  ASSERT_EQ(l.pinned_by.size(), 1u);
  EXPECT_EQ(l.pinned_by[0].mnt_ns, 4026531840u);
  EXPECT_NE(l.pinned_by[0].mount_point.find("containerized_mounter"), std::string::npos);
  // `since` is kept across evaluations.
  d.evaluate(t, mounts, 5000, false, 5000);
  EXPECT_EQ(d.leaks()[0].since_mono_ns, 1000u);
}

TEST_F(FakeNode, DeadPodFoundThroughAMountPointInAnotherNamespace) {
  PodIndex pods(pods_dir(), "none");
  WatchTable t;
  // Seeded watch: its only known path came from a snapshot, in the watcher's namespace, and
  // does not name a pod; a second namespace still mounts the volume at a pod-shaped path.
  t.apply(add(0xb, 5, kTmpfsDead, 1, "/watched/elsewhere"));
  FakeNodeView mounts(MountNamespaces::from({
      NamespaceMounts{4026531840, 1, {}},
      NamespaceMounts{4026532999, 777, {mount_of(kTmpfsDead, "/", "/mnt/copy/var/lib/kubelet/pods/gone-2/volumes/v")}}}));
  LeakDetector d(pods);
  d.evaluate(t, mounts, 1, false, 1);
  ASSERT_EQ(d.leaks().size(), 1u);
  EXPECT_EQ(d.leaks()[0].pod_uid, "gone-2");
  EXPECT_EQ(d.leaks()[0].pinned_by[0].mnt_ns, 4026532999u);
  EXPECT_EQ(d.leaks()[0].pinned_by[0].pid, 777u);
}

TEST_F(FakeNode, OrphanedPodOnlyWhereAKubepodsHierarchyExists) {
  make_pod_dir("orphan-3");
  make_pod_dir("alive-4");
  WatchTable t;
  t.apply(add(0xc, 1, kTmpfsOrphan, 1, pods_dir() + "/orphan-3/volumes/v"));
  t.apply(add(0xc, 2, kTmpfsLive, 1, pods_dir() + "/alive-4/volumes/v"));
  FakeNodeView mounts(MountNamespaces::from({NamespaceMounts{1, 1, {}}}));
  {
    PodIndex no_cgroups(pods_dir(), "", cgroup());  // no kubepods hierarchy: nothing to judge by
    LeakDetector d(no_cgroups);
    d.evaluate(t, mounts, 1, false, 1);
    EXPECT_TRUE(d.leaks().empty());
  }
  make_pod_cgroup("kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podalive_4.slice");
  PodIndex with_cgroups(pods_dir(), "", cgroup());
  ASSERT_TRUE(with_cgroups.has_cgroup_hierarchy());
  EXPECT_TRUE(with_cgroups.pod_has_cgroup("alive-4"));
  LeakDetector d(with_cgroups);
  d.evaluate(t, mounts, 1, false, 1);
  ASSERT_EQ(d.leaks().size(), 1u);
  EXPECT_EQ(d.leaks()[0].pod_uid, "orphan-3");
  EXPECT_EQ(d.leaks()[0].reason, "pod_orphaned");
  EXPECT_TRUE(d.leaks()[0].pinned_by.empty()) << "no mount of that tmpfs in the fake table";
}

TEST_F(FakeNode, LeakClearsWhenTheWatchGoes) {
  PodIndex pods(pods_dir(), "none");
  WatchTable t;
  t.apply(add(0xd, 1, kTmpfsDead, 1, pods_dir() + "/dead-9/volumes/v"));
  FakeNodeView mounts(MountNamespaces::from({NamespaceMounts{1, 1, {}}}));
  LeakDetector d(pods);
  d.evaluate(t, mounts, 1, false, 1);
  EXPECT_EQ(d.leaks().size(), 1u);
  Event rm = add(0xd, 1, kTmpfsDead, 1, "");
  rm.type = EventType::Remove;
  t.apply(rm);
  d.evaluate(t, mounts, 2, false, 2);
  EXPECT_TRUE(d.leaks().empty());
}

TEST_F(FakeNode, CandidateNeedsASnapshotTakenAfterItWasSeen) {
  PodIndex pods(pods_dir(), "none");
  WatchTable t;
  t.apply(add(0xd, 1, kTmpfsDead, 1, pods_dir() + "/dead-7/volumes/v"));
  FakeNodeView mounts(MountNamespaces::from({NamespaceMounts{1, 1, {}}}));
  LeakDetector d(pods);
  d.evaluate(t, mounts, /*now=*/100, false, /*confirmed_at=*/50);
  EXPECT_TRUE(d.leaks().empty()) << "the last snapshot predates the candidate (tracepoint: removal may be pending)";
  d.evaluate(t, mounts, 200, false, 150);
  ASSERT_EQ(d.leaks().size(), 1u) << "a snapshot begun after it was seen still had it";
  EXPECT_EQ(d.leaks()[0].since_mono_ns, 100u);
}

// Issue 11 item 9: an idle table is not walked again, but a pod directory's deletion, a
// change of the table or a new mount still is seen at the next evaluation.
TEST_F(FakeNode, SkipsOnlyWhatCannotHaveChanged) {
  make_pod_dir("p-1");
  make_pod_dir("p-2");
  PodIndex pods(pods_dir(), "none");
  WatchTable t;
  t.apply(add(0xf, 1, kTmpfsDead, 1, pods_dir() + "/p-1/volumes/v"));
  FakeNodeView mounts(MountNamespaces::from({NamespaceMounts{1, 1, {}}}));
  LeakDetector d(pods);
  d.evaluate(t, mounts, 1, false, 1);
  EXPECT_TRUE(d.leaks().empty());
  d.evaluate(t, mounts, 2, false, 2);
  EXPECT_TRUE(d.leaks().empty());
  fs::remove_all(root_ / "pods" / "p-1");
  d.evaluate(t, mounts, 3, false, 3);
  ASSERT_EQ(d.leaks().size(), 1u) << "the pod directory's deletion";
  t.apply(add(0xf, 2, kTmpfsDead, 2, pods_dir() + "/p-2/volumes/v"));
  fs::remove_all(root_ / "pods" / "p-2");
  d.evaluate(t, mounts, 4, false, 4);
  EXPECT_EQ(d.leaks().size(), 2u);
  FakeNodeView pinned(MountNamespaces::from({NamespaceMounts{1, 1, {mount_of(kTmpfsDead, "/", "/elsewhere")}}}));
  d.evaluate(t, pinned, 5, false, 5);
  ASSERT_EQ(d.leaks().size(), 2u);
  EXPECT_EQ(d.leaks()[0].pinned_by.size(), 1u) << "a new mount pins it";
}

// Stale checks stat a bounded slice per pass and cover a big table over several passes.
TEST_F(FakeNode, StaleChecksCoverABigTableInSlices) {
  PodIndex pods(pods_dir(), "none");
  WatchTable t;
  const int n = 2 * LeakDetector::kStaleSlice + 500;
  for (int wd = 1; wd <= n; wd++) {
    Event e = add(0x10, wd, 5, wd, (root_ / ("gone-" + std::to_string(wd))).string());
    e.task.pid = getpid();
    t.apply(e);
  }
  LeakDetector d(pods);
  ProcNodeView real_node;  // the stale rule stats through our own /proc/PID/root
  d.evaluate(t, real_node, 1, /*check_stale=*/true, 1);
  EXPECT_GT(d.stale().size(), 0u);
  EXPECT_LT(d.stale().size(), (size_t)n) << "one slice per pass";
  d.evaluate(t, real_node, 2, true, 2);
  d.evaluate(t, real_node, 3, true, 3);
  EXPECT_EQ(d.stale().size(), (size_t)n) << "three passes cover " << n << " watches";
  d.evaluate(t, real_node, 4, true, 4);
  EXPECT_EQ(d.stale().size(), (size_t)n) << "verdicts of other slices are kept";
}

TEST_F(FakeNode, StaleWhenThePathLeadsElsewhere) {
  PodIndex pods(pods_dir(), "none");
  std::string real = (root_ / "real").string();
  fs::create_directories(real);
  struct stat st{};
  ASSERT_EQ(stat(real.c_str(), &st), 0);
  WatchTable t;
  Event good = add(0xe, 1, KernelDev::from_st_dev(st.st_dev).raw, st.st_ino, real);
  good.task.pid = getpid();
  t.apply(good);
  Event moved = add(0xe, 2, KernelDev::from_st_dev(st.st_dev).raw, st.st_ino + 1000000, real);
  moved.task.pid = getpid();
  t.apply(moved);
  Event gone = add(0xe, 3, 5, 5, (root_ / "nonexistent").string());
  gone.task.pid = getpid();
  t.apply(gone);
  LeakDetector d(pods);
  ProcNodeView real_node;  // the stale rule stats through our own /proc/PID/root
  d.evaluate(t, real_node, 1, /*check_stale=*/true, 1);
  ASSERT_EQ(d.stale().size(), 2u);
  std::map<int, std::string> why;
  for (const auto& s : d.stale()) why[s.wd] = s.why;
  EXPECT_EQ(why[2], "path leads to another inode");
  EXPECT_EQ(why[3], "path gone");
}

TEST(SnapshotPaths, JoinPrefersTheWatchersNamespaceAndTheMostSpecificMount) {
  MountEntry whole = mount_of(40, "/", "/mnt/whole");
  MountEntry sub = mount_of(40, "/a/b", "/srv/b");
  FakeNodeView node(MountNamespaces::from({NamespaceMounts{10, 100, {whole, sub}},
                                           NamespaceMounts{20, 200, {mount_of(41, "/", "/other")}}}));
  const MountNamespaces& mounts = node.mounts();
  auto own = mounts.find(10);
  auto found = find_mount_path(mounts, KernelDev{40}, "/a/b/c", own);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->second, "/srv/b/c") << "the bind of the subtree is more specific";
  EXPECT_EQ(find_mount_path(mounts, KernelDev{40}, "/x", own)->second, "/mnt/whole/x");
  EXPECT_FALSE(find_mount_path(mounts, KernelDev{41}, "/y", own)) << "not in the watcher's namespace";
  EXPECT_EQ(find_mount_path(mounts, KernelDev{41}, "/y", nullptr)->second, "/other/y");

  Snapshot snap;
  SnapInstance inst;
  inst.holders = {Holder{100, 3, "w", 0, 0}};
  SnapWatch a;
  a.wd = 1;
  a.dev = KernelDev{41};
  a.fs_path = "/y";
  a.fs_path_source = PathSource::Dentry;
  SnapWatch b = a;
  b.wd = 2;
  b.dev = KernelDev{99};
  SnapWatch c = a;
  c.wd = 3;
  c.kernel_flags = INOTRACE_F_PATH_UNLINKED;
  inst.watches = {a, b, c};
  snap.instances = {inst};
  MountViews views(node);
  resolve_snapshot_paths(snap, views);
  const auto& w = snap.instances[0].watches;
  EXPECT_EQ(w[0].path, "/other/y");
  EXPECT_EQ(w[0].path_note, "mounted only in another mount namespace (mnt:[20], pid 200)");
  EXPECT_TRUE(w[1].path.empty());
  EXPECT_EQ(w[1].path_note, "not mounted in any namespace (in-filesystem path /y)");
  EXPECT_EQ(w[2].path_note, "unlinked (was /y)");
}

TEST(MountPaths, JoinMountPath) {
  EXPECT_EQ(join_mount_path(mount_of(1, "/", "/"), "/etc/x"), "/etc/x");
  EXPECT_EQ(join_mount_path(mount_of(1, "/", "/mnt"), "/"), "/mnt");
  EXPECT_EQ(join_mount_path(mount_of(1, "/sub", "/mnt"), "/sub/x"), "/mnt/x");
  EXPECT_EQ(join_mount_path(mount_of(1, "/sub", "/mnt"), "/subway"), std::nullopt);
  EXPECT_EQ(join_mount_path(mount_of(1, "/sub", "/"), "/sub"), "/");
}

}  // namespace
}  // namespace inotrace

namespace inotrace {
namespace {

TEST(RemovalDeduction, ReusedAnonymousDeviceMeansTheOldFilesystemWasUnmounted) {
  auto with_ids = [](int id) {
    MountEntry m = mount_of(kTmpfsDead, "/", "/mnt/x");
    m.mount_id = id;
    return MountNamespaces::from({NamespaceMounts{1, 1, {m}}});
  };
  MountNamespaces before = with_ids(100);
  FakeNodeView same(with_ids(100)), replaced(with_ids(200)), none(MountNamespaces::from({NamespaceMounts{1, 1, {}}}));
  InstanceEntry inst;
  WatchEntry w;
  w.dev = kTmpfsDead;
  w.set_ino(1);
  EXPECT_EQ(DeducingRemovalClassifier(none, &before).classify(inst, 1, w, ""), Reason::Unmount);
  EXPECT_EQ(DeducingRemovalClassifier(replaced, &before).classify(inst, 1, w, ""), Reason::Unmount)
      << "the device number now names another filesystem";
  EXPECT_EQ(DeducingRemovalClassifier(same, &before).classify(inst, 1, w, ""), Reason::Unknown);
  w.mask = IN_MODIFY | IN_ONESHOT;
  EXPECT_EQ(DeducingRemovalClassifier(same, &before).classify(inst, 1, w, ""), Reason::Oneshot);
}

// Issue 11 item 15: what else the evidence allows besides the chosen reason.
TEST(RemovalDeduction, SaysWhichOtherReasonsWerePossible) {
  char dir_template[] = "/tmp/inotrace-deduction-XXXXXX";
  ASSERT_TRUE(mkdtemp(dir_template));
  std::string dir = dir_template, file = dir + "/watched";
  ASSERT_TRUE(std::ofstream(file).good());
  struct stat st;
  ASSERT_EQ(stat(file.c_str(), &st), 0);
  KernelDev dev = KernelDev::from_st_dev(st.st_dev);
  MountEntry m = mount_of(dev.raw, "/", "/");
  FakeNodeView node(MountNamespaces::from({NamespaceMounts{1, 1, {m}}}));
  node.files[file] = {dev.raw, st.st_ino};  // no holder can be looked at: our own view decides
  node.files[dir] = {dev.raw, st.st_ino - 1};
  DeducingRemovalClassifier why(node, nullptr);
  InstanceEntry inst;
  WatchEntry w;
  w.dev = dev.raw;
  w.set_ino(st.st_ino);
  w.mask = IN_MODIFY;
  EXPECT_EQ(why.also_possible(inst, w, file, Reason::InstanceClosed, true), 0)
      << "closed, target still there: instance_closed is certain";
  w.mask = IN_MODIFY | IN_ONESHOT;
  EXPECT_EQ(why.also_possible(inst, w, file, Reason::InstanceClosed, true), reason_bit(Reason::Oneshot));
  EXPECT_EQ(why.also_possible(inst, w, file, Reason::Oneshot, false), 0) << "the chosen one is not 'also'";
  w.mask = IN_MODIFY;
  ASSERT_EQ(unlink(file.c_str()), 0);
  node.files.erase(file);
  EXPECT_EQ(why.also_possible(inst, w, file, Reason::InstanceClosed, true), reason_bit(Reason::InodeDeleted))
      << "deleted and closed in one interval: either came first";
  EXPECT_EQ(why.also_possible(inst, w, file, Reason::InodeDeleted, false), 0);
  EXPECT_EQ(why.also_possible(inst, w, file, Reason::Unmount, false), reason_bit(Reason::InodeDeleted));
  Event add;
  add.path = file;
  EXPECT_EQ(why.classify_vanished_add(add), Reason::InodeDeleted);
  add.path = dir;
  EXPECT_EQ(why.classify_vanished_add(add), Reason::Unknown);
  rmdir(dir.c_str());
}

}  // namespace
}  // namespace inotrace
