// Live tier: the iterator remembers which inotify instances a run already walked (an instance
// held by several fds is walked once). Its table is not an LRU, so it must hold exactly the
// instances of the last run: vanished ones are deleted, whatever runs before or beside it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include "snapshot/iter_source.h"
#include "support/live_support.h"

namespace inotrace::testing {
namespace {

const SnapInstance* held_by(const Snapshot& s, int fd) {
  for (const auto& inst : s.instances)
    for (const auto& h : inst.holders)
      if (h.pid == static_cast<uint32_t>(getpid()) && h.fd == fd) return &inst;
  return nullptr;
}

TEST(IterWalkTableLive, HoldsTheLastRunsInstancesOnlyAndWalksASharedOneOnce) {
  INOTRACE_REQUIRE_ROOT();
  KernelFacts facts = preflight("");
  IterSource iter(facts);
  char dir_template[] = "/tmp/inotrace-walk-table-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;

  std::vector<int> fds;
  for (int i = 0; i < 3; i++) {
    int fd = inotify_init1(IN_CLOEXEC);
    ASSERT_GE(fd, 0);
    ASSERT_GE(inotify_add_watch(fd, dir.c_str(), IN_CREATE), 0);
    fds.push_back(fd);
  }
  int twin = dup(fds[0]);  // a second holder of the first instance
  ASSERT_GE(twin, 0);

  Snapshot first = iter.take(true);
  EXPECT_EQ(iter.remembered_instances(), first.instances.size());
  const SnapInstance* shared = held_by(first, fds[0]);
  ASSERT_NE(shared, nullptr);
  EXPECT_EQ(shared, held_by(first, twin)) << "one instance, two holders";
  EXPECT_EQ(shared->holders.size(), 2u);
  EXPECT_EQ(shared->watches.size(), 1u) << "walked once, not once per holder";

  for (int fd : fds) close(fd);
  close(twin);
  for (int run = 0; run < 2; run++) {  // the second run follows one that deleted
    Snapshot later = iter.take_counts();
    EXPECT_EQ(held_by(later, fds[0]), nullptr);
    EXPECT_EQ(iter.remembered_instances(), later.instances.size()) << "run " << run << ": vanished instances kept";
    for (const auto& w : later.warnings) EXPECT_EQ(w.find("table"), std::string::npos) << w;
  }
  rmdir(dir.c_str());
}

// Instances from small to large (2 to 278 watches of one directory's subdirectories): the
// first fit in a 16 KiB ring (~100 records), the last overflow it.
class IterRingLive : public ::testing::Test {
 protected:
  static constexpr int kInstances = 24, kWatches = 300;
  static int size_of(int i) { return 2 + i * 12; }
  void SetUp() override {
    INOTRACE_REQUIRE_ROOT();
    char dir_template[] = "/tmp/inotrace-ring-loss-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    dir = dir_template;
    for (int d = 0; d < kWatches; d++) ASSERT_EQ(mkdir((dir + "/d" + std::to_string(d)).c_str(), 0755), 0);
    for (int i = 0; i < kInstances; i++) {
      int fd = inotify_init1(IN_CLOEXEC);
      ASSERT_GE(fd, 0);
      fds.push_back(fd);
      for (int d = 0; d < size_of(i); d++)
        ASSERT_GT(inotify_add_watch(fd, (dir + "/d" + std::to_string(d)).c_str(), IN_CREATE), 0);
    }
  }
  void TearDown() override {
    for (int fd : fds)
      if (fd >= 0) close(fd);
    for (int d = 0; d < kWatches && !dir.empty(); d++) rmdir((dir + "/d" + std::to_string(d)).c_str());
    if (!dir.empty()) rmdir(dir.c_str());
  }
  static bool lost_records(const Snapshot& s) {
    return std::any_of(s.warnings.begin(), s.warnings.end(),
                       [](const std::string& w) { return w.find("watch records lost") != std::string::npos; });
  }
  SysctlGuard watches_limit{"/proc/sys/fs/inotify/max_user_watches", 1 << 20};
  std::string dir;
  std::vector<int> fds;
};

// The walk pauses while the ring is full and goes on once it was drained: a 16 KiB ring for
// ~3,300 records loses none, every instance's list is whole and every path is its directory's.
TEST_F(IterRingLive, TheWalkPausesForRoomAndLosesNothing) {
  KernelFacts facts = preflight("");
  IterSource tiny(facts, IterSourceOptions{.ringbuf_bytes = 16384});
  for (int run = 0; run < 3; run++) {
    Snapshot s = tiny.take(true);
    EXPECT_FALSE(lost_records(s)) << "run " << run;
    EXPECT_GT(tiny.pauses(), 0u) << "run " << run << ": 16 KiB held every record, the test lost its edge";
    for (int i = 0; i < kInstances; i++) {
      const SnapInstance* inst = held_by(s, fds[i]);
      ASSERT_NE(inst, nullptr);
      // The bounded walk (no bpf_loop) walks 256 marks at a time, the rest go to fdinfo.
      if (tiny.bounded() && size_of(i) > 256 && inst->truncated) continue;
      EXPECT_FALSE(inst->truncated) << "instance " << i << ", run " << run;
      ASSERT_EQ(inst->watches.size(), (size_t)size_of(i)) << "instance " << i << ", run " << run;
      if (!tiny.names_targets()) continue;  // the bounded walk (no bpf_loop) sends no paths
      // The kernel's path is within the target's filesystem: where /tmp is a mount of its own
      // (the VM guests), it starts at the test directory's own name.
      // So a path is taken without the test directory's parent where it has it (the host).
      const std::string parent = dir.substr(0, dir.rfind('/')), fs_dir = dir.substr(parent.size());
      std::vector<std::string> paths, expected;
      for (const auto& w : inst->watches)
        paths.push_back(w.fs_path.rfind(parent + "/", 0) == 0 ? w.fs_path.substr(parent.size()) : w.fs_path);
      for (int d = 0; d < size_of(i); d++) expected.push_back(fs_dir + "/d" + std::to_string(d));
      std::sort(paths.begin(), paths.end());
      std::sort(expected.begin(), expected.end());
      EXPECT_EQ(paths, expected) << "instance " << i << ", run " << run;
    }
    std::cout << "[  NOTE    ] run " << run << ": " << tiny.pauses() << " pauses, 0 records lost\n";
  }
}

// With a ring big enough, the walk reads the ring's fill only every few marks and leaves room
// for that many of the longest records: behind a consumer that drains only when the walk waits
// for it (so the ring fills to the threshold every time), a 128 KiB ring (the fill read every 8
// marks) for ~290 KB of records, paths walked whole, loses none.
TEST_F(IterRingLive, TheWalkReadingTheFillEvery8MarksLosesNothingBehindASlowConsumer) {
  KernelFacts facts = preflight("");
  IterSourceOptions o{.ringbuf_bytes = 128u << 10, .sibling_paths = false};
  o.consumer_drains_only_when_asked_for_test = true;
  IterSource slow(facts, o);
  if (!slow.names_targets())
    GTEST_SKIP() << "no bpf_loop (< 5.17): the bounded walk sends no paths, its records fit the ring";
  ASSERT_EQ(slow.fill_read_every(), 8u);
  Snapshot s = slow.take(true);
  EXPECT_FALSE(lost_records(s));
  EXPECT_GT(slow.pauses(), 0u) << "the ring held every record: the test lost its edge";
  for (int i = 0; i < kInstances; i++) {
    const SnapInstance* inst = held_by(s, fds[i]);
    ASSERT_NE(inst, nullptr);
    EXPECT_FALSE(inst->truncated) << "instance " << i;
    EXPECT_EQ(inst->watches.size(), (size_t)size_of(i)) << "instance " << i;
    for (const auto& w : inst->watches) EXPECT_NE(w.fs_path.find("/d"), std::string::npos) << w.fs_path;
  }
  std::cout << "[  NOTE    ] " << slow.pauses() << " pauses, 0 records lost\n";
}

// A walk that paused is resumed at the very file it paused at only. Here that file is closed
// while the walk waits: the instance's other holder (a dup, shown later) must not resume it (the
// group's address could be another instance's by then); it flags the instance for fdinfo, and
// the records sent before the pause are not given to it.
TEST_F(IterRingLive, AWalkWhoseFileClosedDuringItsPauseIsDroppedAndFlaggedForFdinfo) {
  KernelFacts facts = preflight("");
  const int last = kInstances - 1;  // the biggest: its walk pauses
  uint64_t group = 0;
  {
    IterSource probe(facts);
    Snapshot first = probe.take(false);  // held_by points into it
    const SnapInstance* inst = held_by(first, fds[last]);
    ASSERT_NE(inst, nullptr);
    group = inst->group;
  }
  int twin = dup(fds[last]);  // above every fd of the fixture: shown after it
  ASSERT_GT(twin, fds[last]);
  // The paused fd is closed and, at once, a new instance of 3 watches takes its number: the
  // iterator shows the new file at the fd where the walk paused (the dup keeps the old file, so
  // the two differ), and the walk must not go on into it.
  bool closed = false;
  int reopened = -1;
  IterSourceOptions o{.ringbuf_bytes = 16384};
  // The ring fills to the threshold every time, whatever the scheduler does: the biggest
  // instance (~24 KB of records against ~12 KB of room) pauses in every run.
  o.consumer_drains_only_when_asked_for_test = true;
  o.on_pause_for_test = [&](uint64_t paused) {
    if (paused != group || closed) return;
    closed = close(fds[last]) == 0;
    int fresh = inotify_init1(IN_CLOEXEC);
    if (fresh < 0) return;
    for (int d = 0; d < 3; d++) inotify_add_watch(fresh, (dir + "/d" + std::to_string(d)).c_str(), IN_CREATE);
    if (fresh == fds[last]) {  // the lowest free number: most often the one just closed
      reopened = fresh;
      return;
    }
    reopened = dup3(fresh, fds[last], O_CLOEXEC);
    close(fresh);
  };
  IterSource tiny(facts, o);
  Snapshot s = tiny.take(true);
  ASSERT_TRUE(closed) << "the biggest instance's walk never paused";
  ASSERT_EQ(reopened, fds[last]) << "the new instance did not take the paused fd's number";
  const SnapInstance* fresh = held_by(s, reopened);
  ASSERT_NE(fresh, nullptr);
  EXPECT_NE(fresh->group, group);
  EXPECT_FALSE(fresh->truncated);
  EXPECT_EQ(fresh->watches.size(), 3u) << "the paused walk went on into the instance now at its fd";
  close(reopened);
  fds[last] = -1;
  const SnapInstance* inst = held_by(s, twin);
  ASSERT_NE(inst, nullptr);
  EXPECT_EQ(inst->holders.size(), 1u);
  EXPECT_TRUE(inst->truncated) << "read from fdinfo, not whole from a dropped walk";
  EXPECT_TRUE(inst->watches.empty()) << "the records before the pause went to it";
  for (int i = 0; i < last; i++) {
    const SnapInstance* other = held_by(s, fds[i]);
    ASSERT_NE(other, nullptr);
    if (tiny.bounded() && size_of(i) > 256 && other->truncated) continue;
    EXPECT_FALSE(other->truncated) << "instance " << i;
    EXPECT_EQ(other->watches.size(), (size_t)size_of(i)) << "instance " << i << ": records of the dropped walk";
  }
  close(twin);
}

// Without pausing, a ring buffer too small for the walk loses watch records: the instances that
// lost some are flagged truncated (read from fdinfo by the taker), and every other instance's
// list is whole, not the whole snapshot thrown to fdinfo (six seconds at 1M watches).
TEST_F(IterRingLive, LostWatchRecordsTruncateOnlyTheInstancesTheyBelongTo) {
  KernelFacts facts = preflight("");
  // The consumer drains all along (not only when asked, which would lose every record after
  // the first loss): instances walked after a lossy one can be whole again.
  IterSource tiny(facts, IterSourceOptions{.ringbuf_bytes = 16384, .pause_when_full = false});
  int lossy_runs = 0, truncated = 0, whole = 0;
  for (int run = 0; run < 5 && !(truncated && whole); run++) {
    Snapshot s = tiny.take(true);
    bool lost = lost_records(s);
    lossy_runs += lost;
    EXPECT_EQ(tiny.pauses(), 0u);
    for (int i = 0; i < kInstances; i++) {
      const SnapInstance* inst = held_by(s, fds[i]);
      ASSERT_NE(inst, nullptr);
      if (inst->truncated) {
        truncated++;
        EXPECT_TRUE(lost) << "truncated, yet nothing was lost";
      } else {
        whole++;
        EXPECT_EQ(inst->watches.size(), (size_t)size_of(i)) << "an instance not flagged must be whole";
      }
    }
  }
  std::cout << "[  NOTE    ] " << lossy_runs << " runs lost records; instance lists truncated " << truncated << ", whole "
            << whole << "\n";
  EXPECT_GT(lossy_runs, 0) << "a 16 KiB ring never overflowed: the test lost its edge";
  EXPECT_GT(truncated, 0);
  EXPECT_GT(whole, 0) << "no instance fitted: the test cannot tell the flagged ones from all";
}

}  // namespace
}  // namespace inotrace::testing
