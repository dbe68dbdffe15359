// The verdict of `inotrace check` on made-up snapshots and leaks: which problem wins, what the
// line names, and when it must say "unknown" instead of "ok".
#include <gtest/gtest.h>

#include <memory>

#include "leaks/node_check.h"
#include "snapshot/aggregate.h"

namespace inotrace {
namespace {

SnapInstance instance(uint32_t uid, uint32_t pid, std::string comm, size_t watches, int64_t kernel_count = -1) {
  SnapInstance inst;
  inst.holders.push_back(Holder{pid, 3, std::move(comm), uid});
  inst.ucount = UcountInfo{kernel_count, 100, uid, kInitUserNsIno};
  for (size_t i = 0; i < watches; i++) inst.watches.push_back(SnapWatch{(int32_t)i + 1});
  return inst;
}

const NodeLimits kLimits{100, 4};

Leak leak(uint32_t pid, std::string comm, std::string pod, std::vector<Pin> pins) {
  Leak l;
  l.pid = pid;
  l.comm = std::move(comm);
  l.pod_uid = std::move(pod);
  l.reason = "pod_deleted";
  l.pinned_by = std::move(pins);
  return l;
}

TEST(NodeCheck, OkNamesTheBusiestUser) {
  Snapshot snap;
  snap.instances.push_back(instance(1000, 42, "watcher", 10));
  snap.instances.push_back(instance(0, 1, "init", 3));
  CheckVerdict v = judge_node(snap, {}, kLimits, {});
  EXPECT_EQ(v.status, CheckStatus::Ok);
  EXPECT_EQ(v.line, "InotifyOK: busiest uid 1000 has 10/100 watches (10%), 1/4 instances; 0 leaked watches (max 0); 2 users");
}

TEST(NodeCheck, WatchesAtTheThresholdNameTheTopHolderEscaped) {
  Snapshot snap;
  snap.instances.push_back(instance(1000, 42, "evil\nname", 60));
  snap.instances.push_back(instance(1000, 43, "small", 20));
  auto w = std::make_shared<Workload>();
  w->pod_uid = "u1", w->pod_namespace = "default", w->pod_name = "web-1", w->container_name = "app";
  snap.instances[0].holders[0].workload = w;
  CheckThresholds t;
  CheckVerdict v = judge_node(snap, {}, kLimits, t);
  ASSERT_EQ(v.status, CheckStatus::Problem);
  ASSERT_EQ(v.problems.size(), 1u);
  EXPECT_EQ(v.problems[0].reason, "InotifyWatchesNearLimit");
  EXPECT_EQ(v.line,
            "InotifyWatchesNearLimit: uid 1000 uses 80/100 max_user_watches (80%, warn at 80%); top holder pid 42 "
            "evil\\nname (pod default/web-1, container app) with 60 watches");
  t.watches_pct = 81;
  EXPECT_EQ(judge_node(snap, {}, kLimits, t).status, CheckStatus::Ok) << "80% is below 81%";
}

TEST(NodeCheck, TheKernelsCountWinsOverTheWatchesFound) {
  Snapshot snap;  // the kernel counts 90 (a leaked counter, or watches the snapshot missed)
  snap.instances.push_back(instance(7, 42, "w", 10, 90));
  CheckVerdict v = judge_node(snap, {}, kLimits, {});
  ASSERT_EQ(v.status, CheckStatus::Problem);
  EXPECT_NE(v.line.find("uid 7 uses 90/100 max_user_watches (90%"), std::string::npos) << v.line;
}

TEST(NodeCheck, InstancesNearTheLimit) {
  Snapshot snap;
  for (int i = 0; i < 4; i++) snap.instances.push_back(instance(5, 100 + (i % 2), "inst", 1));
  CheckVerdict v = judge_node(snap, {}, kLimits, {});
  ASSERT_EQ(v.status, CheckStatus::Problem);
  EXPECT_EQ(v.line,
            "InotifyInstancesNearLimit: uid 5 uses 4/4 max_user_instances (100%, warn at 80%); top holder pid 100 "
            "inst (host process) with 2 instances");
}

TEST(NodeCheck, LeaksComeFirstWithWhatUnmountingFrees) {
  Snapshot snap;
  snap.instances.push_back(instance(0, 42, "kubelet", 90));
  Pin mounter{4026531840, 1, "/mnt/rootfs/var/lib/kubelet/pods/u1/volumes/v"}, other{4026532000, 77, "/elsewhere"};
  std::vector<Leak> leaks = {leak(42, "kubelet", "u1", {mounter}), leak(42, "kubelet", "u1", {mounter}),
                             leak(42, "kubelet", "u2", {mounter, other}), leak(9, "x", "u2", {other})};
  CheckVerdict v = judge_node(snap, leaks, kLimits, {});
  ASSERT_EQ(v.status, CheckStatus::Problem);
  ASSERT_EQ(v.problems.size(), 2u);
  EXPECT_EQ(v.problems[1].reason, "InotifyWatchesNearLimit");
  EXPECT_EQ(v.line,
            "InotifyWatchLeak: 4 watches into 2 deleted pods (max 0); top holder pid 42 kubelet (host process) with 3; "
            "pinned by /mnt/rootfs/var/lib/kubelet/pods/u1/volumes/v (mnt ns 4026531840, pid 1); unmounting it frees 2 "
            "watches (1 more are pinned elsewhere too); 1 other pinning mounts; restarting the holder frees its 3; and 1 "
            "more problems");
}

TEST(NodeCheck, LeaksUpToTheMaximumAreTolerated) {
  Snapshot snap;
  snap.instances.push_back(instance(0, 42, "kubelet", 2));
  std::vector<Leak> leaks = {leak(42, "kubelet", "u1", {}), leak(42, "kubelet", "u1", {})};
  CheckThresholds t;
  t.leaks_max = 2;
  CheckVerdict v = judge_node(snap, leaks, kLimits, t);
  EXPECT_EQ(v.status, CheckStatus::Ok);
  EXPECT_NE(v.line.find("2 leaked watches (max 2)"), std::string::npos) << v.line;
  t.leaks_max = 1;
  v = judge_node(snap, leaks, kLimits, t);
  EXPECT_EQ(v.status, CheckStatus::Problem);
  EXPECT_NE(v.line.find("pinned by no mount found"), std::string::npos) << v.line;
}

TEST(NodeCheck, APartialViewIsUnknownUnlessItShowsAProblem) {
  Snapshot snap;
  snap.instances.push_back(instance(1000, 42, "w", 10));
  snap.denied_processes = 3;
  CheckVerdict v = judge_node(snap, {}, kLimits, {});
  EXPECT_EQ(v.status, CheckStatus::Unknown);
  EXPECT_EQ(v.line.rfind("InotifyUnknown: the fds of 3 processes could not be read (permission denied", 0), 0u) << v.line;
  CheckThresholds t;
  t.watches_pct = 5;
  EXPECT_EQ(judge_node(snap, {}, kLimits, t).status, CheckStatus::Problem) << "what it did see is a problem";
}

TEST(NodeCheck, AnUnknownLimitIsNotOk) {
  Snapshot snap;  // the procfs source: no charged user, no limit in the snapshot
  snap.instances.push_back(instance(1000, 42, "w", 10));
  snap.instances[0].ucount = UcountInfo{};
  EXPECT_EQ(judge_node(snap, {}, kLimits, {}).status, CheckStatus::Ok) << "the sysctl's limits stand in";
  CheckVerdict v = judge_node(snap, {}, NodeLimits{-1, 4}, {});
  EXPECT_EQ(v.status, CheckStatus::Unknown);
  EXPECT_EQ(v.line, "InotifyUnknown: the max_user_watches of uid 1000 is unknown");
}

TEST(NodeCheck, UnknownReasonsStayOneLine) {
  CheckVerdict v = unknown_verdict("cannot list /proc\nsecond line");
  EXPECT_EQ(v.status, CheckStatus::Unknown);
  EXPECT_EQ(v.line, "InotifyUnknown: cannot list /proc\\nsecond line");
}

}  // namespace
}  // namespace inotrace
