// WorkloadCache: the answer for each event's task, asked of the node view once per TTL, with
// the previous answer remembered for a run of one process's events.
#include "paths/workload_cache.h"

#include <gtest/gtest.h>

#include "support/fake_node_view.h"

namespace inotrace {
namespace {

// Counts what the cache asks the node.
class CountingNodeView : public FakeNodeView {
 public:
  std::shared_ptr<const Workload> workload_of(uint32_t pid) const override {
    by_pid++;
    return FakeNodeView::workload_of(pid);
  }
  std::shared_ptr<const Workload> workload_of_cgroup(uint64_t id) const override {
    by_cgroup++;
    return FakeNodeView::workload_of_cgroup(id);
  }
  mutable int by_pid = 0, by_cgroup = 0;
};

Workload pod(const std::string& uid) { return Workload{.pod_uid = uid, .pod_name = "pod-" + uid}; }

TEST(WorkloadCache, AlternatingProcessesEachGetTheirOwnPodAndAreLookedUpOnce) {
  CountingNodeView node;
  node.workloads[10] = pod("a");
  node.workloads[20] = pod("b");
  WorkloadCache cache(node);
  for (int i = 0; i < 3; i++) {
    ASSERT_TRUE(cache.of(10, 1));
    EXPECT_EQ(cache.of(10, 1)->pod_uid, "a");
    EXPECT_EQ(cache.of(20, 1)->pod_uid, "b");
    EXPECT_EQ(cache.of(20, 1)->pod_uid, "b");
    EXPECT_EQ(cache.of(30, 1), nullptr);  // no pod
  }
  EXPECT_EQ(node.by_pid, 3);
}

TEST(WorkloadCache, ARepeatedProcessIsAskedAgainOnceItsAnswerExpired) {
  CountingNodeView node;
  node.workloads[10] = pod("a");
  WorkloadCache cache(node, /*ttl_ns=*/0);  // nothing stands: every event asks
  for (int i = 0; i < 4; i++) EXPECT_EQ(cache.of(10, 1)->pod_uid, "a");
  EXPECT_EQ(node.by_pid, 4);
  node.workloads[10] = pod("moved");  // the pid was reused by another pod's process
  EXPECT_EQ(cache.of(10, 1)->pod_uid, "moved");
}

TEST(WorkloadCache, TheCgroupAnswersFirstAndThePidWhereTheCgroupNamesNoPod) {
  CountingNodeView node;
  node.cgroup_workloads[777] = pod("by-cgroup");
  node.workloads[10] = pod("by-pid");
  WorkloadCache cache(node);
  EXPECT_EQ(cache.of(10, 777)->pod_uid, "by-cgroup");
  EXPECT_EQ(cache.of(10, 777)->pod_uid, "by-cgroup");
  EXPECT_EQ(node.by_pid, 0);
  EXPECT_EQ(cache.of(10, 888)->pod_uid, "by-pid");  // same pid, a cgroup with no pod
  EXPECT_EQ(cache.of(10, 777)->pod_uid, "by-cgroup");  // not the previous event's answer
  EXPECT_EQ(node.by_cgroup, 2);
  EXPECT_EQ(node.by_pid, 1);
}

// The cache's clock in tests: stepped by hand, so no answer expires by a loaded machine's delay.
uint64_t test_now_ns = 0;
uint64_t test_clock() { return test_now_ns; }

// A cgroup that names no pod yet (a container just started) is asked again when its own answer
// expires, even while a newer answer by pid stands for the process.
TEST(WorkloadCache, ACgroupWithoutAPodIsAskedAgainWhenItsOwnAnswerExpires) {
  CountingNodeView node;
  node.workloads[10] = pod("by-pid");
  test_now_ns = 1'000'000'000;
  WorkloadCache cache(node, /*ttl_ns=*/200'000'000, test_clock);
  cache.of(20, 888);  // the cgroup's answer (no pod) is taken now
  test_now_ns += 120'000'000;
  EXPECT_EQ(cache.of(10, 888)->pod_uid, "by-pid");  // pid 10's answer is 120 ms newer
  EXPECT_EQ(node.by_cgroup, 1);
  node.cgroup_workloads[888] = pod("by-cgroup");
  test_now_ns += 80'000'000;  // the cgroup's answer expired (200 ms old), pid 10's has not
  EXPECT_EQ(cache.of(10, 888)->pod_uid, "by-cgroup");
  EXPECT_EQ(node.by_cgroup, 2);
  node.cgroup_workloads.erase(888);
  test_now_ns += 199'000'000;  // the cgroup's new answer still stands
  EXPECT_EQ(cache.of(10, 888)->pod_uid, "by-cgroup");
  EXPECT_EQ(node.by_cgroup, 2);
}

}  // namespace
}  // namespace inotrace
