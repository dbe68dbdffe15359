// Live tier: where the tracer's map of instance sequence numbers allocates on demand (6.1+), no
// LRU ages out the entries of ended instances on the tracepoint backend: the session tells the
// tracer which ended, from a whole-box snapshot. These tests hold that an ended instance is
// forgotten, and that a live one, or one created after the snapshot began, keeps its number.
#include <gtest/gtest.h>
#include <sys/inotify.h>
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

// The instance created for `fd` by this process, from its create record.
std::optional<Event> created(EventLog& log, int fd) {
  return log.wait_for([&](const Event& e) { return e.type == EventType::InstanceCreate && e.fd == fd; });
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
  auto live_ev = created(log, live), a_ev = created(log, ended_a), b_ev = created(log, ended_b);
  ASSERT_TRUE(live_ev && a_ev && b_ev);
  close(ended_a);
  close(ended_b);
  uint64_t began = WallClock::monotonic_now_ns();
  log.clear();  // `later` may reuse an ended one's fd number
  int later = inotify_init1(IN_CLOEXEC);  // after the "snapshot" began: not in its list, alive
  ASSERT_GE(later, 0);
  auto later_ev = created(log, later);
  ASSERT_TRUE(later_ev);
  // `later` may also take an ended instance's address: that entry is later's now, and kept.
  size_t ended = (a_ev->instance.group != later_ev->instance.group) + (b_ev->instance.group != later_ev->instance.group);

  size_t forgotten = tracer.collect_dead_groups({live_ev->instance.group}, began);
  EXPECT_GE(forgotten, ended) << "both ended instances are forgotten (but an address `later` took)";
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

TEST(DeadGroupsLive, ASessionCollectsOnceEnoughInstancesWereEntered) {
  INOTRACE_REQUIRE_ROOT();
  SessionOptions so;
  so.tracer = tracepoint_options();
  so.collect_groups_every = 4;
  TraceSession session(so, [](const std::string&) {});
  if (!session.tracer().groups_need_collection()) {
    ASSERT_FALSE(kernel_allocates_in_tracing_programs());
    GTEST_SKIP() << "SKIPPED: kernel before 6.1: the instances' map stays a preallocated LRU";
  }
  int fds[8];  // all open at once: eight addresses (one closed first would lend the next its own)
  for (int& fd : fds) ASSERT_GE(fd = inotify_init1(IN_CLOEXEC), 0);
  for (int fd : fds) close(fd);
  for (int i = 0; i < 50 && session.counters().dead_groups_collected < 8; i++) session.poll(20, [](const Event&) {});
  EXPECT_GE(session.counters().dead_groups_collected, 8u) << "the 8 ended instances were forgotten";
  EXPECT_EQ(session.counters().tracer.groups_full, 0u);
}

}  // namespace
}  // namespace inotrace::testing
