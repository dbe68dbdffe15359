// Live tier: the iterator remembers which inotify instances a run already walked (an instance
// held by several fds is walked once). Its table is not an LRU, so it must hold exactly the
// instances of the last run: vanished ones are deleted, whatever runs before or beside it.
#include <gtest/gtest.h>
#include <sys/inotify.h>
#include <unistd.h>

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

}  // namespace
}  // namespace inotrace::testing
