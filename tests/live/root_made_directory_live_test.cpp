// root_made_directory (paths/root_made_directory.h) on the real kernel, against what an
// unprivileged user (uid 65534) can make: a kubelet-shaped tree in a sticky directory, and one in
// a tmpfs mounted in a user + mount namespace of their own (root there, 65534 seen from here).
#include <absl/cleanup/cleanup.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "paths/root_made_directory.h"
#include "support/live_support.h"

namespace inotrace::testing {
namespace {

constexpr uid_t kNobody = 65534;
const std::string kShape = "/var/lib/kubelet/pods";

bool become_nobody() {
  return setgroups(0, nullptr) == 0 && setresgid(kNobody, kNobody, kNobody) == 0 &&
         setresuid(kNobody, kNobody, kNobody) == 0;
}

bool make_tree(const std::string& top) {
  if (mkdir(top.c_str(), 0755) != 0 && errno != EEXIST) return false;
  std::string p = top;
  for (const char* part : {"/var", "/lib", "/kubelet", "/pods"}) {
    p += part;
    if (mkdir(p.c_str(), 0755) != 0) return false;
  }
  return true;
}

// Runs `body` as uid 65534 in a child; its exit status says whether body succeeded.
template <typename F>
bool as_nobody(F body) {
  pid_t pid = fork();
  if (pid == 0) _exit(become_nobody() && body() ? 0 : 1);
  int status = 0;
  return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

class RootMadeDirectoryLive : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "SKIPPED: RootMadeDirectoryLive: needs root";
    base_ = std::filesystem::canonical(td_.path()).string();
    ASSERT_EQ(chmod(base_.c_str(), 0755), 0);
  }
  TempDir td_{"inotrace-root-made"};
  std::string base_;
};

TEST_F(RootMadeDirectoryLive, RootsTreeIsRootsAndAUsersIsNot) {
  ASSERT_TRUE(make_tree(base_ + "/root"));
  EXPECT_TRUE(root_made_directory("/proc", getpid(), base_ + "/root" + kShape));
  // A sticky, world-writable directory on the way (as /tmp) does not spoil it...
  const std::string sticky = base_ + "/sticky";
  ASSERT_EQ(mkdir(sticky.c_str(), 0755), 0);
  ASSERT_EQ(chmod(sticky.c_str(), 01777), 0);
  ASSERT_TRUE(make_tree(sticky));
  EXPECT_TRUE(root_made_directory("/proc", getpid(), sticky + kShape));
  // ...but what the user makes in it is theirs.
  ASSERT_TRUE(as_nobody([&] { return mkdir((sticky + "/u").c_str(), 0755) == 0 && make_tree(sticky + "/u"); }));
  EXPECT_FALSE(root_made_directory("/proc", getpid(), sticky + "/u" + kShape));
  // A root-owned directory others may write to, without the sticky bit, lets them swap names.
  const std::string open_dir = base_ + "/open";
  ASSERT_EQ(mkdir(open_dir.c_str(), 0755), 0);
  ASSERT_TRUE(make_tree(open_dir));
  ASSERT_EQ(chmod((open_dir + "/var/lib").c_str(), 0777), 0);
  EXPECT_FALSE(root_made_directory("/proc", getpid(), open_dir + kShape));
  // Not there, or not a directory: nothing to believe.
  EXPECT_FALSE(root_made_directory("/proc", getpid(), base_ + "/missing" + kShape));
  EXPECT_FALSE(root_made_directory("/proc", getpid(), "/proc/self/root" + base_ + "/root" + kShape))
      << "a magic link on the way is not followed";
}

// A user + mount namespace of the user's own: they are root in it, mount a tmpfs and make the
// tree there; seen through their root, from here, it is 65534's.
TEST_F(RootMadeDirectoryLive, ATreeInAUsersOwnNamespaceIsNotRoots) {
  const std::string mnt = base_ + "/ns";
  ASSERT_EQ(mkdir(mnt.c_str(), 0755), 0);
  ASSERT_EQ(chown(mnt.c_str(), kNobody, kNobody), 0);
  int ready[2], release[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(release), 0);
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    close(ready[0]);
    close(release[1]);
    // (Dumpable again after dropping root: else our /proc/self files stay root's and the maps
    // cannot be written.)
    int step = !become_nobody() || prctl(PR_SET_DUMPABLE, 1) != 0 ? 1 : unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0 ? 2 : 0;
    if (!step) {
      std::ofstream("/proc/self/setgroups") << "deny";
      std::ofstream("/proc/self/uid_map") << "0 65534 1\n";
      std::ofstream("/proc/self/gid_map") << "0 65534 1\n";
      step = mount("none", mnt.c_str(), "tmpfs", 0, nullptr) != 0 ? 3 : !make_tree(mnt) ? 4 : 0;
    }
    char c = static_cast<char>('0' + step);
    (void)!write(ready[1], &c, 1);
    (void)!read(release[0], &c, 1);
    _exit(0);
  }
  close(ready[1]);
  close(release[0]);
  char c = 0;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  if (c == '2') {  // unshare refused: no unprivileged user namespaces on this kernel or by policy
    close(release[1]);
    waitpid(pid, nullptr, 0);
    GTEST_SKIP() << "SKIPPED: RootMadeDirectoryLive.ATreeInAUsersOwnNamespaceIsNotRoots: unprivileged user "
                    "namespaces are not available here";
  }
  absl::Cleanup reap = [&] {
    close(release[1]);
    waitpid(pid, nullptr, 0);
  };
  ASSERT_EQ(c, '0') << "the user's namespace could not be set up (step " << c << ")";
  struct stat st;
  ASSERT_EQ(stat(fmt::format("/proc/{}/root{}{}", pid, mnt, kShape).c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, kNobody) << "seen from here, the namespace's root is 65534";
  EXPECT_FALSE(root_made_directory("/proc", pid, mnt + kShape));
  EXPECT_TRUE(root_made_directory("/proc", pid, "/")) << "its root is the host's, which is root's";
}

}  // namespace
}  // namespace inotrace::testing
