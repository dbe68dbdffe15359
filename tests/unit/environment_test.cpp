#include "loader/environment.h"

#include <gtest/gtest.h>

namespace inotrace {
namespace {

// Releases as distributions print them, and what the loader should choose on each.
// On-demand hash maps in tracing programs: a kernel WARN before 6.1, refused under PREEMPT_RT
// before 6.1, safe from 6.1 (the BPF memory allocator). Task-local storage for the syscall state:
// from 6.4, where its elements come from that allocator too. Unknown releases: the safe kind.
struct ReleaseCase {
  const char* release;
  bool allocates_in_tracing;
  bool task_storage;
};

constexpr ReleaseCase kReleases[] = {
    {"4.19.0", false, false},
    {"5.10.0-28-amd64", false, false},
    {"5.14.0-362.8.1.el9_3.x86_64", false, false},
    {"6.0.19-rt14", false, false},
    {"6.1.0-18-amd64", true, false},  // Debian 12: on-demand hash, not task storage
    {"6.3.13", true, false},
    {"6.4.0", true, true},
    {"6.12.57+deb13-rt-amd64", true, true},
    {"6.18.44-fc-v1272", true, true},
    {"7.0", true, true},
    {"garbage", false, false},
    {"6", false, false},
};

TEST(EnvironmentTest, KernelReleaseDecidesHowMapsAllocate) {
  for (const ReleaseCase& c : kReleases) {
    EXPECT_EQ(kernel_allocates_in_tracing_programs(c.release), c.allocates_in_tracing) << c.release;
    EXPECT_EQ(kernel_task_storage_suits_tracing(c.release), c.task_storage) << c.release;
  }
}

}  // namespace
}  // namespace inotrace
