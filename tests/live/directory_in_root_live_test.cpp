// directory_in_root (paths/directory_in_root.h) on the real kernel, against what an unprivileged
// user (uid 65534) can make: their own kubelet-shaped tree, a symlink of theirs swapped in for
// its pods directory (at "/" or at the real pods root), and a tree in a tmpfs mounted in a user +
// mount namespace of their own. Root's own symlinks (/var/lib/kubelet -> /data/kubelet) are
// followed, inside the process's root.
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

#include "paths/directory_in_root.h"
#include "paths/mount_ns_owner.h"
#include "support/live_support.h"

namespace inotrace::testing {
namespace {

constexpr uid_t kNobody = 65534;
using DevIno = std::pair<uint64_t, uint64_t>;

bool become_nobody() {
  return setgroups(0, nullptr) == 0 && setresgid(kNobody, kNobody, kNobody) == 0 &&
         setresuid(kNobody, kNobody, kNobody) == 0;
}

// Runs `body` as uid 65534 in a child; its exit status says whether body succeeded.
template <typename F>
bool as_nobody(F body) {
  pid_t pid = fork();
  if (pid == 0) _exit(become_nobody() && body() ? 0 : 1);
  int status = 0;
  return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

DevIno id_of(const std::string& p) {
  struct stat st {};
  EXPECT_EQ(stat(p.c_str(), &st), 0) << p;
  return {st.st_dev, st.st_ino};
}

class DirectoryInRootLive : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "SKIPPED: DirectoryInRootLive: needs root";
    base_ = std::filesystem::canonical(td_.path()).string();
    ASSERT_EQ(chmod(base_.c_str(), 01777), 0);  // as /tmp: anyone may make entries, each their own
    std::filesystem::create_directories(base_ + "/data/kubelet/pods");
    std::filesystem::create_directories(base_ + "/var/lib");
    ASSERT_EQ(symlink((base_ + "/data/kubelet").c_str(), (base_ + "/var/lib/kubelet").c_str()), 0);
    pods_ = id_of(base_ + "/data/kubelet/pods");
  }
  std::optional<DevIno> here(const std::string& dir) { return directory_in_root("/proc", getpid(), dir); }
  TempDir td_{"inotrace-dir-in-root"};
  std::string base_;
  DevIno pods_;
};

TEST_F(DirectoryInRootLive, RootsSymlinksAreFollowedInsideTheRoot) {
  EXPECT_EQ(here(base_ + "/var/lib/kubelet/pods"), pods_) << "through root's symlink";
  EXPECT_EQ(here(base_ + "/var/lib/kubelet/../kubelet/pods"), pods_);
  EXPECT_EQ(here("/../../.." + base_ + "/data/kubelet/pods"), pods_) << "\"..\" stops at the root";
  EXPECT_EQ(here(base_ + "/missing"), std::nullopt);
  ASSERT_EQ(close(open((base_ + "/file").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644)), 0);
  EXPECT_EQ(here(base_ + "/file"), std::nullopt) << "not a directory";
}

TEST_F(DirectoryInRootLive, AUsersTreeAndTheirSymlinksNameNoneOfRoots) {
  const std::string mine = base_ + "/mine";
  ASSERT_TRUE(as_nobody([&] {
    std::error_code ec;
    std::filesystem::create_directories(mine + "/var/lib/kubelet/pods/forged/v", ec);
    return !ec && symlink("/", (mine + "/to-root").c_str()) == 0 &&
           symlink((base_ + "/data/kubelet/pods").c_str(), (mine + "/to-pods").c_str()) == 0;
  }));
  const auto own = here(mine + "/var/lib/kubelet/pods");
  ASSERT_TRUE(own.has_value()) << "a user's directory is still a directory";
  EXPECT_NE(*own, pods_);
  EXPECT_EQ(here(mine + "/to-root"), std::nullopt) << "a user's symlink is not followed";
  EXPECT_EQ(here(mine + "/to-pods"), std::nullopt) << "not even to the real pods root";
  // The swap: the watched tree moved away, the user's symlink in its place.
  ASSERT_TRUE(as_nobody([&] {
    return rename((mine + "/var/lib/kubelet/pods").c_str(), (mine + "/old").c_str()) == 0 &&
           symlink((base_ + "/data/kubelet/pods").c_str(), (mine + "/var/lib/kubelet/pods").c_str()) == 0;
  }));
  EXPECT_EQ(here(mine + "/var/lib/kubelet/pods"), std::nullopt);
}

// Root's symlink hard-linked into a user's directory (what a user can do where
// fs.protected_hardlinks is 0; made here as root) is root's, but not followed.
TEST_F(DirectoryInRootLive, AHardLinkOfRootsSymlinkIsNotFollowed) {
  const std::string mine = base_ + "/hl";
  ASSERT_EQ(mkdir(mine.c_str(), 0755), 0);
  ASSERT_EQ(chown(mine.c_str(), kNobody, kNobody), 0);
  ASSERT_EQ(symlink((base_ + "/data/kubelet").c_str(), (base_ + "/roots-link").c_str()), 0);
  EXPECT_EQ(here(base_ + "/roots-link/pods"), pods_) << "root's own, one link";
  ASSERT_EQ(link((base_ + "/roots-link").c_str(), (mine + "/kubelet").c_str()), 0);
  EXPECT_EQ(here(mine + "/kubelet/pods"), std::nullopt);
}

// A user + mount namespace of the user's own: they are root in it, mount a tmpfs and make the
// tree there; seen from here, through their root, it is not the pods root.
TEST_F(DirectoryInRootLive, ATreeInAUsersOwnNamespaceIsNotThePodsRoot) {
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
      std::error_code ec;
      step = mount("none", mnt.c_str(), "tmpfs", 0, nullptr) != 0 ? 3
             : (std::filesystem::create_directories(mnt + "/var/lib/kubelet/pods", ec), ec) ? 4
                                                                                                : 0;
    }
    char c = static_cast<char>('0' + step);
    (void)!write(ready[1], &c, 1);
    (void)!read(release[0], &c, 1);
    _exit(0);
  }
  close(ready[1]);
  close(release[0]);
  absl::Cleanup reap = [&] {
    close(release[1]);
    waitpid(pid, nullptr, 0);
  };
  char c = 0;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  if (c == '2')  // unshare refused: no unprivileged user namespaces on this kernel or by policy
    GTEST_SKIP() << "SKIPPED: DirectoryInRootLive.ATreeInAUsersOwnNamespaceIsNotThePodsRoot: unprivileged user "
                    "namespaces are not available here";
  ASSERT_EQ(c, '0') << "the user's namespace could not be set up (step " << c << ")";
  auto theirs = directory_in_root("/proc", pid, mnt + "/var/lib/kubelet/pods");
  ASSERT_TRUE(theirs.has_value());
  EXPECT_NE(*theirs, pods_);
  EXPECT_NE(*theirs, id_of(mnt)) << "their tmpfs, not our directory under it";
  EXPECT_EQ(directory_in_root("/proc", pid, base_ + "/var/lib/kubelet/pods"), pods_)
      << "root's tree, as they see it, is still the pods root";
  // Which is why the detector asks who owns the namespace first.
  EXPECT_EQ(mount_ns_owned_by_initial_user_ns("/proc", pid), std::optional<bool>(false));
  EXPECT_EQ(mount_ns_owned_by_initial_user_ns("/proc", getpid()), std::optional<bool>(true));
}

}  // namespace
}  // namespace inotrace::testing
