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

TEST(ProcStat, ThisProcessIsNoKernelThread) {
  std::ifstream f("/proc/self/stat");
  std::stringstream text;
  text << f.rdbuf();
  auto flags = parse_proc_stat_flags(text.str());
  ASSERT_TRUE(flags) << text.str();
  EXPECT_FALSE(*flags & kPfKthread);
}

}  // namespace
}  // namespace inotrace
