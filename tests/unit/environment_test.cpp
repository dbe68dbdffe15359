#include "loader/environment.h"

#include <gtest/gtest.h>

namespace inotrace {
namespace {

// On-demand hash maps in tracing programs: a kernel WARN before 6.1, refused under PREEMPT_RT
// before 6.1, safe from 6.1 (the BPF memory allocator). Releases as distributions print them.
TEST(EnvironmentTest, OnDemandMapsOnlyFromLinux61) {
  EXPECT_FALSE(kernel_allocates_in_tracing_programs("5.10.0-28-amd64"));
  EXPECT_FALSE(kernel_allocates_in_tracing_programs("5.14.0-362.8.1.el9_3.x86_64"));
  EXPECT_FALSE(kernel_allocates_in_tracing_programs("6.0.19-rt14"));
  EXPECT_TRUE(kernel_allocates_in_tracing_programs("6.1.0-18-amd64"));
  EXPECT_TRUE(kernel_allocates_in_tracing_programs("6.12.57+deb13-rt-amd64"));
  EXPECT_TRUE(kernel_allocates_in_tracing_programs("6.18.44-fc-v1272"));
  EXPECT_TRUE(kernel_allocates_in_tracing_programs("7.0"));
  EXPECT_FALSE(kernel_allocates_in_tracing_programs("4.19.0"));
  EXPECT_FALSE(kernel_allocates_in_tracing_programs("garbage")) << "unknown: the safe kind";
  EXPECT_FALSE(kernel_allocates_in_tracing_programs("6")) << "unknown: the safe kind";
}

TEST(EnvironmentTest, TaskStorageServesTheSyscallStateFrom64) {
  EXPECT_FALSE(kernel_task_storage_suits_tracing("5.10.0-28-amd64"));
  EXPECT_FALSE(kernel_task_storage_suits_tracing("6.1.0-18-amd64")) << "Debian 12: the hash";
  EXPECT_FALSE(kernel_task_storage_suits_tracing("6.3.13"));
  EXPECT_TRUE(kernel_task_storage_suits_tracing("6.4.0"));
  EXPECT_TRUE(kernel_task_storage_suits_tracing("6.12.57+deb13-rt-amd64"));
  EXPECT_TRUE(kernel_task_storage_suits_tracing("6.18.44-fc-v1272"));
  EXPECT_TRUE(kernel_task_storage_suits_tracing("7.0"));
  EXPECT_FALSE(kernel_task_storage_suits_tracing("garbage")) << "unknown: the hash";
}

}  // namespace
}  // namespace inotrace
