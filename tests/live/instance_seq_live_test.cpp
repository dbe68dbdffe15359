// Live tier: a record's instance sequence number (which instance of a reused group address it
// belongs to) is the one its instance's create record carried: for a thread switching between
// instances, and for a thread whose next instance the kernel put at the address of its
// previous one (any cache of the number keyed by address alone would hand out the old one).
// Without task filters, the path every unfiltered session takes.
#include <gtest/gtest.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <fmt/format.h>

#include "support/live_support.h"

namespace inotrace::testing {
namespace {

// By instance address and wd, not fd: fentry where the kernel's BTF hides syscall arguments
// (5.10) reports adds without their fd. Removals by rm_watch only: on the hooked backends, the
// previous instance's close removes its watch (the same wd, maybe at the same address) too.
std::optional<Event> record_of(EventLog& log, EventType type, const Event& instance, int wd) {
  const uint32_t self = getpid();
  return log.wait_for([&](const Event& e) {
    return e.type == type && e.instance.group == instance.instance.group && e.wd == wd && e.task.pid == self &&
           (type != EventType::Remove || e.reason == Reason::RmWatch);
  });
}

TEST(InstanceSeqLive, AThreadSwitchingBetweenInstancesNamesEachRecordsOwn) {
  INOTRACE_REQUIRE_ROOT();
  Tracer tracer(test_tracer_options(std::nullopt));  // unfiltered
  EventLog log(tracer);
  TempDir dir("inotrace-seq");
  int a = inotify_init1(IN_CLOEXEC), b = inotify_init1(IN_CLOEXEC);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  auto a_ev = instance_created(log, a), b_ev = instance_created(log, b);
  ASSERT_TRUE(a_ev && b_ev);
  ASSERT_NE(a_ev->instance.seq, b_ev->instance.seq);
  for (int round = 0; round < 3; round++) {
    for (auto [fd, ev] : {std::pair{a, *a_ev}, std::pair{b, *b_ev}}) {
      std::string d = dir.mkdir(fmt::format("r{}-fd{}", round, fd));
      int wd = inotify_add_watch(fd, d.c_str(), IN_CREATE);
      ASSERT_GT(wd, 0);
      auto add = record_of(log, EventType::Add, ev, wd);
      ASSERT_TRUE(add);
      EXPECT_EQ(add->instance.seq, ev.instance.seq) << "round " << round << ", fd " << fd;
      ASSERT_EQ(inotify_rm_watch(fd, wd), 0);
      auto rm = record_of(log, EventType::Remove, ev, wd);
      ASSERT_TRUE(rm);
      EXPECT_EQ(rm->instance.seq, ev.instance.seq) << "round " << round << ", fd " << fd;
    }
  }
  close(a);
  close(b);
}

TEST(InstanceSeqLive, AnInstanceAtTheAddressOfTheThreadsLastOneCarriesItsOwnNumber) {
  INOTRACE_REQUIRE_ROOT();
  Tracer tracer(test_tracer_options(std::nullopt));  // unfiltered
  EventLog log(tracer);
  TempDir dir("inotrace-seq-reuse");
  std::string d = dir.mkdir("w");
  // The slab hands a freed group's memory back first: the next instance usually lands at the
  // last one's address within a few tries.
  for (int attempt = 0; attempt < 200; attempt++) {
    int first = inotify_init1(IN_CLOEXEC);
    ASSERT_GE(first, 0);
    auto first_ev = instance_created(log, first);
    ASSERT_TRUE(first_ev);
    int wd = inotify_add_watch(first, d.c_str(), IN_CREATE);
    ASSERT_GT(wd, 0);
    auto first_add = record_of(log, EventType::Add, *first_ev, wd);
    ASSERT_TRUE(first_add);  // this thread has recorded the first instance
    ASSERT_EQ(first_add->instance.seq, first_ev->instance.seq);
    close(first);
    log.clear();
    int second = inotify_init1(IN_CLOEXEC);
    ASSERT_GE(second, 0);
    auto second_ev = instance_created(log, second);
    ASSERT_TRUE(second_ev);
    if (second_ev->instance.group != first_ev->instance.group) {
      close(second);
      log.clear();
      continue;
    }
    ASSERT_NE(second_ev->instance.seq, first_ev->instance.seq);
    int wd2 = inotify_add_watch(second, d.c_str(), IN_CREATE);
    ASSERT_GT(wd2, 0);
    auto add = record_of(log, EventType::Add, *second_ev, wd2);
    ASSERT_TRUE(add);
    EXPECT_EQ(add->instance.group, first_ev->instance.group);
    EXPECT_EQ(add->instance.seq, second_ev->instance.seq) << "the record took the previous instance's number";
    ASSERT_EQ(inotify_rm_watch(second, wd2), 0);
    auto rm = record_of(log, EventType::Remove, *second_ev, wd2);
    ASSERT_TRUE(rm);
    EXPECT_EQ(rm->instance.seq, second_ev->instance.seq);
    close(second);
    return;
  }
  GTEST_SKIP() << "SKIPPED: the kernel put no new instance at the previous one's address in 200 tries";
}

}  // namespace
}  // namespace inotrace::testing
