// Events name the pod of their task by the cgroup id the kernel reports, so an add made by a
// process that exited before its event was read still carries its pod (/proc/PID/cgroup is gone
// by then). The task sits in a kubelet-shaped cgroup of the unified hierarchy only: its v1
// placement stays "/", so a pid lookup could not name the pod even while it lived.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "paths/cgroup_id_index.h"
#include "paths/node_view.h"
#include "session/trace_session.h"
#include "support/live_support.h"

namespace inotrace {
namespace {

using namespace inotrace::testing;

// Moves itself into `cgroup`, watches `dir`, exits: 0 if the add succeeded.
pid_t add_from_cgroup_and_exit(const std::string& cgroup, const std::string& dir) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  int procs = open((cgroup + "/cgroup.procs").c_str(), O_WRONLY);
  if (procs < 0 || write(procs, "0", 1) != 1) _exit(2);
  int fd = inotify_init1(IN_CLOEXEC);
  _exit(fd >= 0 && inotify_add_watch(fd, dir.c_str(), IN_CREATE) > 0 ? 0 : 3);
}

TEST(CgroupIdLive, AnAddIsNamedWithItsPodByTheCgroupIdAfterTheAdderExited) {
  INOTRACE_REQUIRE_ROOT();
  const std::string unified = unified_cgroup_mount();
  if (unified.empty())
    GTEST_SKIP() << "SKIPPED: CgroupIdLive.AnAddIsNamedWithItsPodByTheCgroupIdAfterTheAdderExited: no cgroup2 "
                    "(unified) hierarchy mounted";
  const std::string uid = "7c0ffee0-1234-4abc-8def-0123456789ab";
  const std::string id = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
  const std::string top = fmt::format("{}/inotrace-cgid-{}", unified, getpid());
  const std::string leaf = fmt::format("{}/kubepods/besteffort/pod{}/{}", top, uid, id);
  CgroupDirs cgroups(leaf);
  ASSERT_TRUE(cgroups.make(top)) << leaf;
  struct stat st;
  ASSERT_EQ(stat(leaf.c_str(), &st), 0);

  // The index and the node view, directly.
  CgroupIdIndex index(unified);
  EXPECT_EQ(index.path_of(st.st_ino), leaf.substr(unified.size()));
  ProcNodeView node;
  auto direct = node.workload_of_cgroup(st.st_ino);
  ASSERT_NE(direct, nullptr);
  EXPECT_EQ(direct->pod_uid, uid);
  EXPECT_EQ(direct->container_id, id);
  EXPECT_EQ(direct->qos, "besteffort");
  EXPECT_EQ(node.workload_of_cgroup(1), nullptr) << "the root cgroup names no pod";

  // Through a trace session: the adder is gone before its event is read.
  TempDir dir("inotrace-cgid");
  SessionOptions so;
  so.tracer = test_tracer_options();
  TraceSession session(so, [](const std::string&) {});
  EventLog log(session);
  log.drain();
  pid_t child = add_from_cgroup_and_exit(leaf, dir.path());
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  auto ev = log.wait_for([&](const Event& e) { return e.type == EventType::Add && e.task.pid == (uint32_t)child; });
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->task.cgroup_id, st.st_ino) << "the event's cgroup id is the directory's inode";
  ASSERT_NE(ev->workload, nullptr) << "an exited adder's event names no pod";
  EXPECT_EQ(ev->workload->pod_uid, uid);
  EXPECT_EQ(ev->workload->container_id, id);
  std::cout << "add by exited pid " << child << " in cgroup id " << st.st_ino << ": pod " << ev->workload->pod_uid
            << ", container " << ev->workload->container_id.substr(0, 12) << "\n";

  // Once the cgroup is gone its id names nothing.
  ASSERT_EQ(rmdir(leaf.c_str()), 0);
  EXPECT_EQ(index.path_of(st.st_ino), std::nullopt);
}

}  // namespace
}  // namespace inotrace
