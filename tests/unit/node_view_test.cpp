// MountViews over a fake node: which view names a watcher's target (its namespace's, its own
// when chrooted, another namespace's), the note that says so, and one mount-table read per tick.
#include <gtest/gtest.h>

#include "paths/event_paths.h"
#include "paths/mount_join.h"
#include "paths/mount_views.h"
#include "paths/unnamed_reasons.h"
#include "support/fake_node_view.h"

namespace inotrace {
namespace {

MountEntry mount_of(uint32_t dev, std::string root, std::string mount_point, int32_t id = 1) {
  MountEntry m;
  m.mount_id = id;
  m.dev = KernelDev{dev};
  m.root = std::move(root);
  m.mount_point = std::move(mount_point);
  return m;
}

constexpr uint32_t kRootFs = 8u << 20 | 1, kPodTmpfs = 40, kJail = 50;

// Namespace 10 (represented by pid 100, root (1, 2)) has the root filesystem, a tmpfs at
// /srv/jail (pid 300 is chrooted there) and a pod's tmpfs; namespace 20 (pid 200) has only a
// tmpfs at /other.
FakeNodeView node_with_a_chroot() {
  FakeNodeView node(MountNamespaces::from(
      {NamespaceMounts{10, 100,
                       {mount_of(kRootFs, "/", "/", 1), mount_of(kJail, "/", "/srv/jail", 2),
                        mount_of(kPodTmpfs, "/", "/var/lib/kubelet/pods/u/volumes/v", 3)}},
       NamespaceMounts{20, 200, {mount_of(41, "/", "/other", 4)}}}));
  node.ns_of = {{100, 10}, {200, 20}, {300, 10}};
  node.roots = {{100, {1, 2}}, {200, {1, 2}}, {300, {1, 99}}};
  node.tables_of[300] = {mount_of(kJail, "/", "/", 2)};  // what /proc/300/mountinfo shows
  return node;
}

TEST(MountViews, ChrootedWatcherHasItsOwnViewAndSeesPathsFromItsRoot) {
  FakeNodeView node = node_with_a_chroot();
  MountViews views(node);
  const MountView* jailed = views.of_process(300);
  ASSERT_TRUE(jailed);
  EXPECT_TRUE(jailed->chrooted);
  EXPECT_EQ(jailed->pid, 300u);
  MountChoice c = views.choose(jailed, KernelDev{kJail});
  ASSERT_TRUE(c.view);
  EXPECT_EQ(c.view, jailed);
  EXPECT_EQ(c.where, "");
  ASSERT_EQ(c.mounts->size(), 1u);
  EXPECT_EQ(c.mounts->front()->mount_point, "/");
  std::string why;
  auto joined = views.join(jailed, KernelDev{kJail}, "/d", why);
  ASSERT_TRUE(joined);
  EXPECT_EQ(joined->path, "/d") << "as the chrooted watcher spells it";
  EXPECT_EQ(joined->where, "");

  // The same inode, for a watcher in the namespace's root: through /srv/jail.
  const MountView* plain = views.of_process(100);
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->chrooted);
  EXPECT_EQ(views.join(plain, KernelDev{kJail}, "/d", why)->path, "/srv/jail/d");
}

TEST(MountViews, TargetOutsideAChrootedWatchersRootSaysSo) {
  FakeNodeView node = node_with_a_chroot();
  MountViews views(node);
  const MountView* jailed = views.of_process(300);
  MountChoice c = views.choose(jailed, KernelDev{kPodTmpfs});
  ASSERT_TRUE(c.view);
  EXPECT_FALSE(c.view->chrooted) << "resolved in the namespace's own view";
  EXPECT_EQ(c.where, unnamed::kOutsideWatchersRoot);
  std::string why;
  auto joined = views.join(jailed, KernelDev{kPodTmpfs}, "/token", why);
  ASSERT_TRUE(joined);
  EXPECT_EQ(joined->path, "/var/lib/kubelet/pods/u/volumes/v/token");
  EXPECT_EQ(joined->where, unnamed::kOutsideWatchersRoot);
}

TEST(MountViews, FilesystemMountedOnlyInAnotherNamespaceIsNamedThereWithANote) {
  FakeNodeView node = node_with_a_chroot();
  MountViews views(node);
  MountChoice c = views.choose(views.of_process(100), KernelDev{41});
  ASSERT_TRUE(c.view);
  EXPECT_EQ(c.view->pid, 200u);
  EXPECT_EQ(c.where, "mounted only in another mount namespace (mnt:[20], pid 200)");
  // A watcher whose namespace is unknown (it exited): named wherever it is mounted, saying so.
  MountChoice unknown = views.choose(views.of_process(4242), KernelDev{41});
  ASSERT_TRUE(unknown.view);
  EXPECT_EQ(unknown.where, unnamed::kWatcherNamespaceUnknown);
}

TEST(MountViews, UnmountedOrOutsideEveryMountIsAReasonNotAPath) {
  FakeNodeView node(MountNamespaces::from({NamespaceMounts{10, 100, {mount_of(60, "/sub", "/mnt")}}}));
  node.ns_of = {{100, 10}};
  MountViews views(node);
  const MountView* own = views.of_process(100);
  EXPECT_FALSE(views.choose(own, KernelDev{61}).view);
  std::string why;
  EXPECT_FALSE(views.join(own, KernelDev{61}, "/x", why));
  EXPECT_EQ(why, "not mounted in any namespace (in-filesystem path /x)");
  EXPECT_FALSE(views.join(own, KernelDev{60}, "/elsewhere/x", why));
  EXPECT_EQ(why, "outside every mount of 0:60 (in-filesystem path /elsewhere/x)");
  EXPECT_EQ(views.join(own, KernelDev{60}, "/sub/x", why)->path, "/mnt/x");
}

TEST(MountJoin, TheMostSpecificMountRootWinsThenTheShortestMountPoint) {
  MountEntry whole = mount_of(40, "/", "/mnt/whole"), sub = mount_of(40, "/a/b", "/srv/b"),
             deep = mount_of(40, "/", "/a/very/long/mount/point");
  std::vector<const MountEntry*> all{&whole, &sub, &deep};
  EXPECT_EQ(best_mount_path(all, "/a/b/c")->second, "/srv/b/c");
  EXPECT_EQ(best_mount_path(all, "/x")->second, "/mnt/whole/x");
  EXPECT_FALSE(best_mount_path(std::vector<const MountEntry*>{&sub}, "/x"));
}

// The live completer names a chrooted watcher's dentry path from its own root too (it used to
// take the namespace's table, read from another process's root).
TEST(EventPathCompleterView, ChrootedWatcherIsNamedFromItsOwnRoot) {
  FakeNodeView node(MountNamespaces::from({NamespaceMounts{7, 999, {mount_of(kJail, "/", "/srv/jail", 40)}}}));
  node.ns_of = {{999, 7}, {300, 7}, {301, 7}};
  node.roots = {{999, {1, 2}}, {300, {1, 99}}, {301, {1, 2}}};
  node.tables_of[300] = {mount_of(kJail, "/", "/", 40)};
  EventPathCompleter c(node);
  auto dentry_add = [](uint32_t pid) {
    Event ev;
    ev.type = EventType::Add;
    ev.task.pid = ev.task.tid = pid;
    ev.mnt_id = 40;
    ev.dev = KernelDev{kJail};
    ev.path = "/d";
    ev.path_source = PathSource::Dentry;
    return ev;
  };
  Event jailed = dentry_add(300), free = dentry_add(301);
  c.complete(jailed);
  c.complete(free);
  EXPECT_EQ(jailed.path, "/d");
  EXPECT_EQ(free.path, "/srv/jail/d");
}

TEST(NodeView, OneMountTableReadPerTickIsShared) {
  FakeNodeView node;
  node.refresh_if_older(10'000'000'000, nullptr);  // never read: reads
  node.refresh_if_older(10'000'000'000, nullptr);  // fresh: shared
  EXPECT_EQ(node.refreshes, 1);
  node.refresh_if_older(0, nullptr);  // older than 0 ns: reads again
  EXPECT_EQ(node.refreshes, 2);
}

}  // namespace
}  // namespace inotrace
