// Live tier: what identifies inotify objects (inotify_release, inotify_freeing_mark), learnt by
// running identify_inotify on an inotify fd of this process, must be exactly what the kernel's
// own symbol table says: /proc/kallsyms is the independent check.
#include <gtest/gtest.h>
#include <unistd.h>

#include "snapshot/iter_source.h"
#include "support/live_support.h"

namespace inotrace::testing {
namespace {

TEST(InotifyIdentityLive, LearntAddressesAreKallsymsOwn) {
  INOTRACE_REQUIRE_ROOT();
  KernelFacts facts = preflight("");
  IterSource iter(facts);
  const InotifyIdentity& id = iter.identity();
  auto release = facts.syms().entry("inotify_release");
  auto freeing = facts.syms().entry("inotify_freeing_mark");
  ASSERT_TRUE(release && freeing);
  if (id.how == "from /proc/kallsyms") GTEST_SKIP() << "SKIPPED: this kernel cannot test-run raw_tp programs (< 5.10)";
  EXPECT_EQ(id.how, "learnt from an inotify fd");
  EXPECT_EQ(id.release, release->addr);
  EXPECT_EQ(id.freeing_mark, freeing->addr);
  std::printf("inotify_release %#lx, inotify_freeing_mark %#lx (%s; kallsyms agrees)\n", (unsigned long)id.release,
              (unsigned long)id.freeing_mark, id.how.c_str());
}

TEST(InotifyIdentityLive, TracerLearnsTheSameAddresses) {
  INOTRACE_REQUIRE_ROOT();
  Tracer tracer(test_tracer_options(getpid()));
  KernelFacts facts = preflight("");
  EXPECT_EQ(tracer.identity().release, facts.syms().entry("inotify_release")->addr);
  EXPECT_EQ(tracer.identity().freeing_mark, facts.syms().entry("inotify_freeing_mark")->addr);
}

}  // namespace
}  // namespace inotrace::testing
