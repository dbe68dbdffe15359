// Live tier: the summary views' counts come from the kernel counting each instance's watches
// (SnapshotTaker::take_tallies, nothing per watch crossing to userspace). They must be exactly
// the full snapshot's: the same instances, holders and number of watches.
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <fmt/format.h>

#include <map>
#include <set>
#include <vector>

#include "snapshot/aggregate.h"
#include "snapshot/snapshot_taker.h"
#include "loader/environment.h"
#include "support/live_support.h"

namespace inotrace::testing {
namespace {

// This process's instances: group -> watches, as the snapshot counts them.
std::map<uint64_t, size_t> own_instances(const Snapshot& snap) {
  std::map<uint64_t, size_t> out;
  for (const auto& inst : snap.instances)
    for (const auto& h : inst.holders)
      if (h.pid == (uint32_t)getpid()) out[inst.group] = snap.watches_of(inst);
  return out;
}

TEST(SnapshotTallyLive, KernelCountsEqualTheFullSnapshotsWatches) {
  INOTRACE_REQUIRE_ROOT();
  TempDir dir;
  std::vector<int> fds;
  for (int watches : {5, 0, 37}) {
    int fd = inotify_init1(IN_CLOEXEC);
    ASSERT_GE(fd, 0);
    fds.push_back(fd);
    for (int i = 0; i < watches; i++)
      ASSERT_GE(inotify_add_watch(fd, dir.mkdir(fmt::format("d{}-{}", fd, i)).c_str(), IN_CREATE), 0);
  }
  KernelFacts facts = preflight("");
  ProcNodeView node;
  SnapshotTaker taker(&facts, SnapshotSource::Iterator, node);
  Snapshot tallies = taker.take_tallies();
  Snapshot full = taker.take(false);
  for (int fd : fds) close(fd);

  auto counted = own_instances(tallies);
  EXPECT_EQ(counted, own_instances(full));
  std::multiset<size_t> sizes;
  for (auto& [g, n] : counted) sizes.insert(n);
  EXPECT_EQ(sizes, (std::multiset<size_t>{0, 5, 37}));
  // Kernels without bpf_loop (< 5.17) cannot count in the kernel: a full snapshot stands in.
  bool kernel_counts = kernel_has_bpf_loop();
  EXPECT_EQ(tallies.digests_only, kernel_counts);
  if (kernel_counts)
    for (const auto& inst : tallies.instances) EXPECT_TRUE(inst.watches.empty());
  else
    std::printf("no bpf_loop on this kernel: the tallies came from a full snapshot\n");
  auto own_row = [](const std::vector<ProcessRow>& rows) {
    for (const auto& r : rows)
      if (r.pid == (uint32_t)getpid()) return std::make_pair(r.instances, r.watches);
    return std::pair<size_t, size_t>(0, 0);
  };
  EXPECT_EQ(own_row(per_process(tallies)), (std::pair<size_t, size_t>(3, 42)));
  EXPECT_EQ(own_row(per_process(full)), own_row(per_process(tallies)));
}

// This process's watches: path by wd, per instance (by group).
std::map<std::pair<uint64_t, int32_t>, std::string> own_paths(const Snapshot& snap) {
  std::map<std::pair<uint64_t, int32_t>, std::string> out;
  for (const auto& inst : snap.instances)
    for (const auto& h : inst.holders)
      if (h.pid == (uint32_t)getpid())
        for (const auto& w : inst.watches) out[{inst.group, w.wd}] = w.path;
  return out;
}

// Who named this process's watches: the kernel's walk (Dentry) or fdinfo's file handles.
std::multiset<PathSource> own_namers(const Snapshot& snap) {
  std::multiset<PathSource> out;
  for (const auto& inst : snap.instances)
    for (const auto& h : inst.holders)
      if (h.pid == (uint32_t)getpid())
        for (const auto& w : inst.watches) out.insert(w.fs_path_source == PathSource::None ? w.path_source : w.fs_path_source);
  return out;
}

// A taker opened for counts loads the walk without the dentry walk (the summary's start-up).
// Its counts are the kernel's; asked for paths anyway, it names these (linked, on a filesystem
// with file handles) from fdinfo, where a taker opened for paths has the kernel name them.
TEST(SnapshotTallyLive, ATakerOpenedForCountsCountsAndStillNamesEveryTarget) {
  INOTRACE_REQUIRE_ROOT();
  TempDir dir;
  int fd = inotify_init1(IN_CLOEXEC);
  ASSERT_GE(fd, 0);
  dir.mkdir("sub");
  for (int i = 0; i < 12; i++)
    ASSERT_GE(inotify_add_watch(fd, dir.mkdir(fmt::format("sub/d{}", i)).c_str(), IN_CREATE), 0);
  KernelFacts facts = preflight("");
  ProcNodeView node;
  SnapshotTaker counting(&facts, SnapshotSource::Iterator, node, {}, SnapshotNeeds::Counts);
  SnapshotTaker naming(&facts, SnapshotSource::Iterator, node, {}, SnapshotNeeds::Paths);
  Snapshot tallies = counting.take_tallies();
  Snapshot from_counting = counting.take(true);
  Snapshot from_naming = naming.take(true);
  close(fd);

  EXPECT_EQ(own_instances(tallies), own_instances(from_naming));
  auto paths = own_paths(from_counting);
  ASSERT_EQ(paths.size(), 12u);
  EXPECT_EQ(paths, own_paths(from_naming));
  for (const auto& [key, path] : paths) EXPECT_EQ(path.rfind(dir.path() + "/sub/d", 0), 0u) << path;
  // Which walk each taker loaded shows in who named the targets.
  auto twelve = [](PathSource s) {
    std::vector<PathSource> v(12, s);
    return std::multiset<PathSource>(v.begin(), v.end());
  };
  EXPECT_EQ(own_namers(from_counting), twelve(PathSource::FileHandle));
  bool kernel_names = kernel_has_bpf_loop();
  if (kernel_names)
    EXPECT_EQ(own_namers(from_naming), twelve(PathSource::Dentry));
  else
    std::printf("no bpf_loop on this kernel: both takers name targets from fdinfo\n");
}

}  // namespace
}  // namespace inotrace::testing
