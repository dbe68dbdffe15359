// Live tier: what identifies inotify objects (inotify_release, inotify_freeing_mark), learnt by
// running identify_inotify on an inotify fd of this process, must be exactly what the kernel's
// own symbol table says: /proc/kallsyms is the independent check.
#include <gtest/gtest.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>

#include "snapshot/iter_source.h"
#include "support/live_support.h"

namespace inotrace::testing {
namespace {

// raw_tp programs can be test-run since 5.10.
bool kernel_before_5_10() {
  utsname u{};
  int major = 0, minor = 0;
  return uname(&u) == 0 && std::sscanf(u.release, "%d.%d", &major, &minor) == 2 && (major < 5 || (major == 5 && minor < 10));
}

TEST(InotifyIdentityLive, LearntAddressesAreKallsymsOwn) {
  INOTRACE_REQUIRE_ROOT();
  if (kernel_before_5_10()) GTEST_SKIP() << "SKIPPED: raw_tp programs cannot be test-run before 5.10 (kallsyms is used)";
  KernelFacts facts = preflight("");
  IterSource iter(facts);
  const InotifyIdentity& id = iter.identity();
  auto release = facts.syms().entry("inotify_release");
  auto freeing = facts.syms().entry("inotify_freeing_mark");
  ASSERT_TRUE(release && freeing);
  EXPECT_EQ(id.how, "learnt from an inotify fd");
  EXPECT_EQ(id.release, release->addr);
  EXPECT_EQ(id.freeing_mark, freeing->addr);
}

TEST(InotifyIdentityLive, TracerLearnsTheSameAddresses) {
  INOTRACE_REQUIRE_ROOT();
  if (kernel_before_5_10()) GTEST_SKIP() << "SKIPPED: raw_tp programs cannot be test-run before 5.10 (kallsyms is used)";
  Tracer tracer(test_tracer_options(getpid()));
  KernelFacts facts = preflight("");
  EXPECT_EQ(tracer.identity().how, "learnt from an inotify fd");
  EXPECT_EQ(tracer.identity().release, facts.syms().entry("inotify_release")->addr);
  EXPECT_EQ(tracer.identity().freeing_mark, facts.syms().entry("inotify_freeing_mark")->addr);
}

// The incident inotrace is run for: root has no inotify instance left. The iterator must still
// load, from kallsyms, and say why.
TEST(InotifyIdentityLive, NoInstanceLeftFallsBackToKallsyms) {
  INOTRACE_REQUIRE_ROOT();
  KernelFacts facts = preflight("");
  facts.syms();  // read before the limit: reading it needs no instance either way
  std::unique_ptr<IterSource> iter;
  {
    SysctlGuard limit("/proc/sys/fs/inotify/max_user_instances", 0);
    iter = std::make_unique<IterSource>(facts);
  }
  const InotifyIdentity& id = iter->identity();
  EXPECT_NE(id.how.find("from /proc/kallsyms (no inotify instance of its own"), std::string::npos) << id.how;
  EXPECT_EQ(id.release, facts.syms().entry("inotify_release")->addr);
  EXPECT_EQ(id.freeing_mark, facts.syms().entry("inotify_freeing_mark")->addr);
  std::printf("with max_user_instances 0: identified %s\n", id.how.c_str());
}

}  // namespace
}  // namespace inotrace::testing
