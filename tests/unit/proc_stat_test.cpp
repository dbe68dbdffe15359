#include "util/proc_stat.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace inotrace {
namespace {

TEST(ProcStat, FlagsOfAUserProcessAndAKernelThread) {
  // As 6.18 prints them (fields after flags cut short).
  auto user = parse_proc_stat_flags("1234 (kubelet) S 1 1234 1234 0 -1 4194560 8121 0 0 0\n");
  ASSERT_TRUE(user);
  EXPECT_EQ(*user, 4194560u);
  EXPECT_FALSE(*user & kPfKthread);
  auto kthread = parse_proc_stat_flags("2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0\n");
  ASSERT_TRUE(kthread);
  EXPECT_TRUE(*kthread & kPfKthread);
}

TEST(ProcStat, AHostileCommCannotShiftTheFields) {
  // A process names itself (prctl PR_SET_NAME, 15 bytes): ") S 1 1 1 0 -1 " would fake a
  // kernel thread's flags if the fields were counted from the first ')'.
  auto f = parse_proc_stat_flags("4242 () S 1 1 1 0 -1 2129984) S 1 4242 4242 0 -1 4194304 5 0 0 0\n");
  ASSERT_TRUE(f);
  EXPECT_EQ(*f, 4194304u);
  EXPECT_TRUE(parse_proc_stat_flags("7 (a\nb) R 1 7 7 0 -1 64 0\n"));
}

TEST(ProcStat, MalformedTextIsNoFlags) {
  EXPECT_FALSE(parse_proc_stat_flags(""));
  EXPECT_FALSE(parse_proc_stat_flags("12 (x S 1 2 3 4 5 6"));            // no ')'
  EXPECT_FALSE(parse_proc_stat_flags("12 (x) S 1 2 3 4 5"));              // cut before flags
  EXPECT_FALSE(parse_proc_stat_flags("12 (x) S 1 2 3 4 5 "));             // empty flags
  EXPECT_FALSE(parse_proc_stat_flags("12 (x) S 1 2 3 4 5 -64 0"));        // not unsigned
  EXPECT_FALSE(parse_proc_stat_flags("12 (x) S 1 2 3 4 5 99999999999 0"));  // over 32 bits
  EXPECT_FALSE(parse_proc_stat_flags("12 (x) S 1  3 4 5 6 7 0"));         // an empty field
  EXPECT_FALSE(parse_proc_stat_flags("12 (x) S 1 2 3 4 5 6x 0"));
}

TEST(ProcStat, StateAndStartTimeCountedAfterTheLastParenthesis) {
  // 6.18's layout: starttime is field 22. The comm imitates a zombie and another start time.
  const char* text =
      "4242 (x) Z 1 1 1 0 -1 64 0 0 0 0 0 0 0 0 20 0 1 0 99) S 1 4242 4242 0 -1 4194304 5 0 0 0 11 7 0 0 20 0 1 0 "
      "123456 9000 42\n";
  EXPECT_EQ(parse_proc_stat_state(text), 'S');
  EXPECT_EQ(parse_proc_stat_flags(text), 4194304u);
  EXPECT_EQ(parse_proc_stat_start_time(text), 123456u);
  EXPECT_EQ(proc_stat_field(text, 4), "1");
}

TEST(ProcStat, MalformedTextIsNoStateOrStartTime) {
  EXPECT_FALSE(parse_proc_stat_state("12 (x)"));
  EXPECT_FALSE(parse_proc_stat_state("12 (x) SS 1"));                                 // not one letter
  EXPECT_FALSE(parse_proc_stat_start_time("12 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13"));  // cut before field 22
  EXPECT_FALSE(parse_proc_stat_start_time("12 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 -5 0"));
  EXPECT_FALSE(proc_stat_field("12 (x) S 1", 2));  // the comm is no field of these
}

TEST(ProcStat, ThisProcessIsNoKernelThread) {
  std::ifstream f("/proc/self/stat");
  std::stringstream text;
  text << f.rdbuf();
  auto flags = parse_proc_stat_flags(text.str());
  ASSERT_TRUE(flags) << text.str();
  EXPECT_FALSE(*flags & kPfKthread);
  EXPECT_EQ(parse_proc_stat_state(text.str()), 'R') << "reading its own stat, it runs";
  EXPECT_GT(parse_proc_stat_start_time(text.str()).value_or(0), 0u) << text.str();
}

}  // namespace
}  // namespace inotrace
