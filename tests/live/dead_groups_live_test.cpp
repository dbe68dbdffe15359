// Live tier: where the tracer's map of instance sequence numbers allocates on demand (6.1+), no
// LRU ages out the entries of ended instances on the tracepoint backend: the session tells the
// tracer which ended, from a whole-box snapshot. These tests hold that an ended instance is
// forgotten, and that a live one, or one created after the snapshot began, keeps its number.
#include <gtest/gtest.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>

#include "loader/environment.h"
#include "support/live_support.h"
#include "util/wall_clock.h"

namespace inotrace::testing {
namespace {

TracerOptions tracepoint_options() {
  TracerOptions o = test_tracer_options(getpid());
  o.backend = Backend::Tracepoint;  // the backend without an end-of-instance hook
  o.dead_groups_collected = true;
  return o;
}

TEST(DeadGroupsLive, EndedInstancesAreForgottenAndTheOthersKeepTheirSequence) {
  INOTRACE_REQUIRE_ROOT();
  Tracer tracer(tracepoint_options());
  if (!kernel_allocates_in_tracing_programs()) {
    EXPECT_FALSE(tracer.groups_need_collection());
    GTEST_SKIP() << "SKIPPED: kernel before 6.1: the instances' map stays a preallocated LRU (no on-demand "
                    "allocation in tracing programs without a kernel warning)";
  }
  ASSERT_TRUE(tracer.groups_need_collection());
  EventLog log(tracer);
  TempDir dir("inotrace-deadgroups");
  int live = inotify_init1(IN_CLOEXEC), ended_a = inotify_init1(IN_CLOEXEC), ended_b = inotify_init1(IN_CLOEXEC);
  ASSERT_GE(live, 0);
  ASSERT_GE(ended_a, 0);
  ASSERT_GE(ended_b, 0);
  auto live_ev = instance_created(log, live), a_ev = instance_created(log, ended_a), b_ev = instance_created(log, ended_b);
  ASSERT_TRUE(live_ev && a_ev && b_ev);
  close(ended_a);
  close(ended_b);
  uint64_t began = WallClock::monotonic_now_ns();
  log.clear();  // `later` may reuse an ended one's fd number
  int later = inotify_init1(IN_CLOEXEC);  // after the "snapshot" began: not in its list, alive
  ASSERT_GE(later, 0);
  auto later_ev = instance_created(log, later);
  ASSERT_TRUE(later_ev);
  // `later` may also take an ended instance's address: that entry is later's now, and kept.
  size_t ended = (a_ev->instance.group != later_ev->instance.group) + (b_ev->instance.group != later_ev->instance.group);

  size_t forgotten = tracer.collect_dead_groups({live_ev->instance.group}, began);
  EXPECT_GE(forgotten, ended) << "both ended instances are forgotten (but an address `later` took)";
  for (const auto& gone : {*a_ev, *b_ev})
    if (gone.instance.group != later_ev->instance.group)
      EXPECT_FALSE(tracer.group_seq(gone.instance.group)) << "an ended instance's number is still kept";
  EXPECT_EQ(tracer.group_seq(live_ev->instance.group), live_ev->instance.seq);
  EXPECT_EQ(tracer.group_seq(later_ev->instance.group), later_ev->instance.seq);
  EXPECT_EQ(tracer.collect_dead_groups({live_ev->instance.group}, began), 0u)
      << "a second collection over the same snapshot finds nothing left to forget";
  EXPECT_GE(tracer.counters().groups_entered, 4u);
  EXPECT_EQ(tracer.counters().groups_full, 0u);

  // The live and the later instance still carry their sequence numbers.
  for (auto [fd, ev] : std::map<int, Event>{{live, *live_ev}, {later, *later_ev}}) {
    std::string d = dir.mkdir("w" + std::to_string(fd));
    int wd = inotify_add_watch(fd, d.c_str(), IN_CREATE);
    ASSERT_GT(wd, 0);
    auto add = log.wait_for([&](const Event& e) { return e.type == EventType::Add && e.fd == fd && e.wd == wd; });
    ASSERT_TRUE(add);
    EXPECT_EQ(add->instance.group, ev.instance.group);
    EXPECT_EQ(add->instance.seq, ev.instance.seq) << "fd " << fd << " lost its sequence number";
    EXPECT_GT(add->instance.seq, 0u);
  }
  close(live);
  close(later);
}

// Where no snapshot can tell which instances ended, a full map loses its older half, as an LRU
// would have evicted: the newest instance keeps its number.
TEST(DeadGroupsLive, WithoutASnapshotTheOlderHalfIsForgotten) {
  INOTRACE_REQUIRE_ROOT();
  Tracer tracer(tracepoint_options());
  if (!tracer.groups_need_collection()) {
    ASSERT_FALSE(kernel_allocates_in_tracing_programs());
    GTEST_SKIP() << "SKIPPED: kernel before 6.1: the instances' map stays a preallocated LRU";
  }
  EventLog log(tracer);
  int fds[4];
  for (int& fd : fds) ASSERT_GE(fd = inotify_init1(IN_CLOEXEC), 0);
  std::optional<Event> first = instance_created(log, fds[0]), newest = instance_created(log, fds[3]);
  ASSERT_TRUE(first && newest);
  EXPECT_GE(tracer.forget_oldest_groups(), 2u);
  EXPECT_FALSE(tracer.group_seq(first->instance.group)) << "the oldest of ours is in the older half";
  EXPECT_EQ(tracer.group_seq(newest->instance.group), newest->instance.seq);
  for (int fd : fds) close(fd);
}

// Through a session: after `collect_groups_every` entries, a count-only snapshot decides; an
// instance another process holds is in it and keeps its number.
TEST(DeadGroupsLive, ASessionCollectsOnceEnoughInstancesWereEntered) {
  INOTRACE_REQUIRE_ROOT();
  SessionOptions so;
  so.tracer = tracepoint_options();
  so.tracer.filters = {};  // the child's instance too
  so.collect_groups_every = 4;
  TraceSession session(so, [](const std::string&) {});
  auto* tracer = dynamic_cast<Tracer*>(&session.tracer());
  ASSERT_TRUE(tracer);
  if (!tracer->groups_need_collection()) {
    ASSERT_FALSE(kernel_allocates_in_tracing_programs());
    GTEST_SKIP() << "SKIPPED: kernel before 6.1: the instances' map stays a preallocated LRU";
  }
  EventLog log(session);
  int ready[2], hold[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(hold), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    int fd = inotify_init1(IN_CLOEXEC);
    char c = fd >= 0 ? 'y' : 'n';
    if (write(ready[1], &c, 1) != 1 || read(hold[0], &c, 1) < 0) _exit(1);
    _exit(0);
  }
  char c = 0;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  ASSERT_EQ(c, 'y');
  auto held = log.wait_for([&](const Event& e) { return e.type == EventType::InstanceCreate && e.task.pid == (uint32_t)child; });
  int fds[8];  // all open at once: eight addresses (one closed first would lend the next its own)
  for (int& fd : fds) ASSERT_GE(fd = inotify_init1(IN_CLOEXEC), 0);
  for (int fd : fds) close(fd);
  for (int i = 0; i < 50 && session.counters().dead_groups_collected < 8; i++) session.poll(20, [](const Event&) {});
  EXPECT_GE(session.counters().dead_groups_collected, 8u) << "the 8 ended instances were forgotten";
  EXPECT_EQ(session.counters().group_collections_skipped, 0u);
  EXPECT_EQ(session.counters().tracer.groups_full, 0u);
  ASSERT_TRUE(held);
  EXPECT_EQ(tracer->group_seq(held->instance.group), held->instance.seq) << "the child's live instance was kept";
  ASSERT_EQ(write(hold[1], "x", 1), 1);
  int status = 0;
  waitpid(child, &status, 0);
  for (int fd : {ready[0], ready[1], hold[0], hold[1]}) close(fd);
}

}  // namespace
}  // namespace inotrace::testing
