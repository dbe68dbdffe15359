// Live tier: the kubelet pod-churn scenario (repro/pod_scenario.h) behaves as the kernel really
// behaves. The truth is the watcher's /proc/<pid>/fdinfo and the namespaces' mountinfo, no BPF.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "repro/pod_scenario.h"
#include "repro/scratch_root.h"

namespace inotrace::repro {
namespace {

using namespace std::chrono_literals;

#define REQUIRE_ROOT()                                                     \
  do {                                                                     \
    if (geteuid() != 0) GTEST_SKIP() << "SKIPPED (live tier): needs root"; \
  } while (0)

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 10s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
}

KernelDev dev_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return KernelDev::from_st_dev(st.st_dev);
}

uint64_t ino_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_ino;
}

size_t watches_on(pid_t pid, KernelDev dev) {
  size_t n = 0;
  for (const auto& w : read_inotify_watches(pid)) n += w.watch.dev == dev;
  return n;
}

bool has_watch(pid_t pid, KernelDev dev, uint64_t ino) {
  for (const auto& w : read_inotify_watches(pid))
    if (w.watch.dev == dev && w.watch.ino == ino) return true;
  return false;
}

bool mounted_at(const std::string& path, pid_t pid = 0) {
  for (const auto& m : mounts_under(path, pid))
    if (m.mount_point == path) return true;
  return false;
}

bool exists(const std::string& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

// Any process's mountinfo (so: any mount namespace with a process in it) mentioning `needle`.
std::vector<std::string> mountinfo_mentions(const std::string& needle) {
  std::vector<std::string> hits;
  DIR* d = ::opendir("/proc");
  if (!d) return hits;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::ifstream f(std::string("/proc/") + e->d_name + "/mountinfo");
    std::string text(std::istreambuf_iterator<char>(f), {});
    if (text.find(needle) != std::string::npos) hits.push_back(e->d_name);
  }
  ::closedir(d);
  return hits;
}

bool saw(const std::vector<WatcherEvent>& evs, int wd, uint32_t bit) {
  for (const auto& e : evs)
    if (e.wd == wd && (e.mask & bit)) return true;
  return false;
}

// Collects the watcher's relayed events until pred holds for them (or the timeout).
std::vector<WatcherEvent> events_until(
    Watcher& w, const std::function<bool(const std::vector<WatcherEvent>&)>& pred,
    std::chrono::milliseconds timeout = 10s) {
  std::vector<WatcherEvent> all;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred(all) && std::chrono::steady_clock::now() < deadline) {
    auto more = w.read_events(50ms);
    all.insert(all.end(), more.begin(), more.end());
  }
  return all;
}

// A stand-in for an external watcher that is slow to let go of what it watches: run as
// "/proc/self/exe PATH..." with kSlowWatcherEnv set (the test below does that through
// start_external_watcher). It adds a watch on each path, then keeps the first one open for
// 500 ms, as inotifywait keeps each path for the moment of its lstat() right after adding the
// watch (the CI flake: kubelet's plain umount of the volume in that moment fails with EBUSY),
// and only then waits for events.
constexpr const char* kSlowWatcherEnv = "INOTRACE_TEST_SLOW_WATCHER";
const bool slow_watcher_ran = [] {
  if (!std::getenv(kSlowWatcherEnv)) return false;
  std::ifstream f("/proc/self/cmdline");
  std::string cmdline(std::istreambuf_iterator<char>(f), {});
  std::vector<std::string> paths;
  for (size_t i = cmdline.find('\0') + 1; i < cmdline.size(); i = cmdline.find('\0', i) + 1)
    paths.push_back(cmdline.c_str() + i);
  int fd = ::inotify_init1(0);
  for (const auto& p : paths)
    if (paths.empty() || ::inotify_add_watch(fd, p.c_str(), IN_ALL_EVENTS) < 0) ::_exit(1);
  int held = ::open(paths[0].c_str(), O_RDONLY | O_CLOEXEC);
  std::this_thread::sleep_for(500ms);
  ::close(held);
  alignas(inotify_event) char buf[4096];
  for (;;)
    if (::read(fd, buf, sizeof buf) <= 0) ::_exit(0);
}();

// Instead of waiting a while to see that nothing happens: appends to `file` (the watched token,
// reached through `file`'s path) and collects the watcher's events until that IN_MODIFY on
// token_wd arrives. inotify queues in order, so anything the kernel queued for the watcher before
// (an IN_UNMOUNT / IN_IGNORED) has arrived by then, and fdinfo already showed its effect.
std::vector<WatcherEvent> sync_with_watcher(Watcher& w, const std::string& file, int token_wd) {
  int fd = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  EXPECT_GE(fd, 0) << file << ": " << std::strerror(errno);
  if (fd < 0) return {};
  EXPECT_EQ(::write(fd, "x", 1), 1);
  ::close(fd);
  auto evs = events_until(w, [&](const auto& e) { return saw(e, token_wd, IN_MODIFY); });
  EXPECT_TRUE(saw(evs, token_wd, IN_MODIFY)) << "the watcher never saw the marker write";
  return evs;
}

class PodScenarioLive : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_ROOT();
    root_ = std::make_unique<ScratchRoot>("/tmp");
    sc_ = std::make_unique<PodScenario>(*root_);
  }
  void TearDown() override {
    sc_.reset();
    root_.reset();
  }

  // The built-in watcher on the pod's default paths; checks what the kernel holds for it.
  Watcher watch(const PodPaths& p) {
    Watcher w = sc_->start_watcher(PodScenario::default_watch_paths(p));
    EXPECT_EQ(w.watches().size(), 3u);
    EXPECT_EQ(read_inotify_watches(w.pid()).size(), 3u);
    EXPECT_TRUE(has_watch(w.pid(), dev_of(p.volume), 1)) << "volume root is inode 1 of the tmpfs";
    EXPECT_EQ(watches_on(w.pid(), dev_of(p.volume)), 2u);  // root + token
    for (const auto& pw : read_inotify_watches(w.pid())) {
      EXPECT_EQ(pw.fd, w.inotify_fd());
      EXPECT_EQ(pw.watch.mask & kKubeletWatchMask, kKubeletWatchMask);
    }
    return w;
  }

  std::unique_ptr<ScratchRoot> root_;
  std::unique_ptr<PodScenario> sc_;
};

TEST_F(PodScenarioLive, LivePodLayoutAndWatches) {
  PodPaths p = sc_->create_pod({"11111111-2222-4333-8444-555555555555", Pinning::None});
  EXPECT_EQ(p.pod_dir, sc_->pods_root() + "/" + p.uid);
  EXPECT_EQ(sc_->pods_root(), root_->path() + "/var/lib/kubelet/pods");
  EXPECT_EQ(p.volume.rfind(p.pod_dir + "/volumes/kubernetes.io~projected/kube-api-access-", 0), 0u);
  EXPECT_EQ(p.mounter_volume,
            root_->path() + "/home/kubernetes/containerized_mounter/rootfs/var/lib/kubelet/pods/" +
                p.uid + "/volumes/kubernetes.io~projected/" +
                std::filesystem::path(p.volume).filename().string());
  EXPECT_TRUE(mounted_at(p.mounter_volume));
  EXPECT_TRUE(mounted_at(p.volume));
  EXPECT_FALSE(mounted_at(p.configmap_dir));
  EXPECT_EQ(ino_of(p.volume), 1u);
  EXPECT_EQ(dev_of(p.volume), dev_of(p.mounter_volume));
  EXPECT_EQ(dev_of(p.configmap_dir), dev_of(root_->path()));
  // Atomic writer layout.
  EXPECT_EQ(p.data_dir.rfind("..20", 0), 0u) << p.data_dir;
  EXPECT_EQ(std::filesystem::read_symlink(p.volume + "/..data").string(), p.data_dir);
  for (const char* f : {"token", "ca.crt", "namespace"}) {
    EXPECT_EQ(std::filesystem::read_symlink(p.volume + "/" + f).string(),
              std::string("..data/") + f);
    EXPECT_TRUE(std::filesystem::is_regular_file(p.volume + "/" + p.data_dir + "/" + f)) << f;
  }
  EXPECT_FALSE(exists(p.volume + "/..data_tmp"));

  Watcher w = watch(p);
  for (const auto& e : sync_with_watcher(w, p.volume + "/token", w.watches().at(1).second))
    EXPECT_FALSE(e.mask & IN_IGNORED) << e.wd;
  EXPECT_EQ(read_inotify_watches(w.pid()).size(), 3u) << "a live pod keeps its watches";
}

TEST_F(PodScenarioLive, PinnedByMounterInSameNamespaceLeaks) {
  PodPaths p = sc_->create_pod({"", Pinning::MounterSameNamespace});
  KernelDev dev = dev_of(p.volume);
  Watcher w = watch(p);
  int cm_wd = w.watches().at(2).second;

  sc_->delete_pod(p);
  EXPECT_FALSE(exists(p.pod_dir)) << "kubelet's rm -rf succeeded";
  EXPECT_FALSE(mounted_at(p.volume));
  EXPECT_TRUE(mounted_at(p.mounter_volume)) << "the mounter's copy is still mounted";
  // The configmap dir was really deleted: its watch ends with IN_DELETE_SELF + IN_IGNORED.
  auto evs = events_until(w, [&](const auto& e) { return saw(e, cm_wd, IN_IGNORED); });
  EXPECT_TRUE(saw(evs, cm_wd, IN_DELETE_SELF));
  EXPECT_TRUE(saw(evs, cm_wd, IN_IGNORED));
  // The token through the mounter's copy: the pod's volume lives on there.
  auto more = sync_with_watcher(w, p.mounter_volume + "/token", w.watches().at(1).second);
  evs.insert(evs.end(), more.begin(), more.end());
  // The leak: both tmpfs watches (inode 1 and the token) survive the pod.
  EXPECT_EQ(watches_on(w.pid(), dev), 2u);
  EXPECT_TRUE(has_watch(w.pid(), dev, 1));
  EXPECT_EQ(read_inotify_watches(w.pid()).size(), 2u);
  for (const auto& e : evs) EXPECT_FALSE(e.mask & IN_UNMOUNT) << e.wd;
}

TEST_F(PodScenarioLive, PinnedFromAnotherNamespaceLeaks) {
  PodPaths p = sc_->create_pod({"", Pinning::OtherNamespace});
  ASSERT_GT(p.other_ns_pid, 0);
  EXPECT_EQ(p.other_ns_mount.rfind(root_->path() + "/other-ns/" + p.uid + "/", 0), 0u);
  EXPECT_NE(std::filesystem::read_symlink("/proc/self/ns/mnt"),
            std::filesystem::read_symlink("/proc/" + std::to_string(p.other_ns_pid) + "/ns/mnt"));
  // The helper's namespace holds exactly one mount of ours: the volume, at the other directory.
  auto theirs = mounts_under(root_->path(), p.other_ns_pid);
  ASSERT_EQ(theirs.size(), 1u);
  EXPECT_EQ(theirs[0].mount_point, p.other_ns_mount);
  EXPECT_EQ(theirs[0].dev, dev_of(p.volume));
  EXPECT_FALSE(mounted_at(p.other_ns_mount)) << "not in our namespace";

  KernelDev dev = dev_of(p.volume);
  Watcher w = watch(p);
  sc_->delete_pod(p);
  EXPECT_FALSE(exists(p.pod_dir));
  EXPECT_FALSE(exists(p.mounter_pod_dir)) << "the mounter cleaned up";
  EXPECT_FALSE(mounted_at(p.volume));
  EXPECT_FALSE(mounted_at(p.mounter_volume));
  for (const auto& m : mounts_under(root_->path())) EXPECT_NE(m.dev, dev) << m.mount_point;
  EXPECT_TRUE(mounted_at(p.other_ns_mount, p.other_ns_pid));
  // The token is reachable only in the helper's namespace now.
  for (const auto& e : sync_with_watcher(w,
                                         "/proc/" + std::to_string(p.other_ns_pid) + "/root" +
                                             p.other_ns_mount + "/token",
                                         w.watches().at(1).second))
    EXPECT_FALSE(e.mask & IN_UNMOUNT) << e.wd;
  EXPECT_EQ(watches_on(w.pid(), dev), 2u) << "leaked, pinned only by the other namespace";
  EXPECT_TRUE(has_watch(w.pid(), dev, 1));

  // Proof that the helper was the pin: when it exits, its namespace goes and the watches end.
  int root_wd = w.watches().at(0).second;
  root_->kill_process(p.other_ns_pid);
  EXPECT_TRUE(eventually([&] { return watches_on(w.pid(), dev) == 0; }));
  auto evs = events_until(w, [&](const auto& e) { return saw(e, root_wd, IN_IGNORED); });
  EXPECT_TRUE(saw(evs, root_wd, IN_UNMOUNT));
  EXPECT_TRUE(saw(evs, root_wd, IN_IGNORED));
}

TEST_F(PodScenarioLive, CopyAtSameDirectoryInAnotherNamespaceDoesNotPin) {
  PodPaths p = sc_->create_pod({"", Pinning::OtherNamespaceSameDir});
  ASSERT_GT(p.other_ns_pid, 0);
  EXPECT_EQ(p.other_ns_mount, p.volume);
  auto theirs = mounts_under(root_->path(), p.other_ns_pid);
  ASSERT_EQ(theirs.size(), 1u);
  EXPECT_EQ(theirs[0].mount_point, p.volume);

  KernelDev dev = dev_of(p.volume);
  Watcher w = watch(p);
  int root_wd = w.watches().at(0).second;
  sc_->delete_pod(p);
  // rmdir of the kubelet path detached the other namespace's mount on it: nothing pins.
  EXPECT_TRUE(eventually([&] { return watches_on(w.pid(), dev) == 0; }));
  EXPECT_EQ(read_inotify_watches(w.pid()).size(), 0u);
  EXPECT_FALSE(mounted_at(p.volume, p.other_ns_pid));
  EXPECT_TRUE(process_running(p.other_ns_pid)) << "the helper is alive, its mount is not";
  auto evs = events_until(w, [&](const auto& e) { return saw(e, root_wd, IN_IGNORED); });
  EXPECT_TRUE(saw(evs, root_wd, IN_UNMOUNT));
  EXPECT_TRUE(saw(evs, root_wd, IN_IGNORED));
}

TEST_F(PodScenarioLive, UnpinnedPodWatchesEndWithUnmount) {
  PodPaths p = sc_->create_pod({"", Pinning::None});
  KernelDev dev = dev_of(p.volume);
  Watcher w = watch(p);
  int root_wd = w.watches().at(0).second, token_wd = w.watches().at(1).second;
  sc_->delete_pod(p);
  EXPECT_FALSE(exists(p.pod_dir));
  EXPECT_FALSE(exists(p.mounter_pod_dir));
  EXPECT_TRUE(eventually([&] { return read_inotify_watches(w.pid()).empty(); }));
  EXPECT_EQ(watches_on(w.pid(), dev), 0u);
  auto evs = events_until(w, [&](const auto& e) {
    return saw(e, root_wd, IN_IGNORED) && saw(e, token_wd, IN_IGNORED);
  });
  EXPECT_TRUE(saw(evs, root_wd, IN_UNMOUNT));
  EXPECT_TRUE(saw(evs, token_wd, IN_UNMOUNT));
  EXPECT_TRUE(saw(evs, root_wd, IN_IGNORED));
}

TEST_F(PodScenarioLive, ExternalInotifywaitLeaksToo) {
  if (::access("/usr/bin/inotifywait", X_OK) != 0)
    GTEST_SKIP() << "SKIPPED: inotifywait not installed";
  PodPaths leak = sc_->create_pod({"", Pinning::MounterSameNamespace});
  PodPaths ok = sc_->create_pod({"", Pinning::None});
  pid_t a =
      sc_->start_external_watcher("inotifywait -m -q {}", {leak.volume, leak.volume + "/token"});
  pid_t b = sc_->start_external_watcher("inotifywait -m -q", {ok.volume});
  ASSERT_TRUE(wait_for_watches(a, 2, 5s));
  ASSERT_TRUE(wait_for_watches(b, 1, 5s));
  KernelDev dl = dev_of(leak.volume), dok = dev_of(ok.volume);
  EXPECT_TRUE(has_watch(a, dl, 1));
  sc_->delete_pod(leak);
  sc_->delete_pod(ok);
  EXPECT_TRUE(eventually([&] { return watches_on(b, dok) == 0; }));
  EXPECT_EQ(watches_on(a, dl), 2u);
  EXPECT_THROW(sc_->start_external_watcher("/nonexistent/inotrace-no-such-binary {}", {ok.volume}),
               std::runtime_error);
}

// CI flake (issue 11, item 19): an external watcher counts as started only once it waits for
// events; before that it may still hold the volume's mount, and deleting the pod right after
// (kubelet's plain umount) failed with EBUSY.
TEST_F(PodScenarioLive, ExternalWatcherIsStartedOnlyOnceItWaitsForEvents) {
  PodPaths p = sc_->create_pod({"", Pinning::None});
  ASSERT_EQ(::setenv(kSlowWatcherEnv, "1", 1), 0);
  pid_t w = -1;
  EXPECT_NO_THROW(w = sc_->start_external_watcher("/proc/self/exe {}", {p.volume}));
  ::unsetenv(kSlowWatcherEnv);
  ASSERT_GT(w, 0);
  ASSERT_TRUE(wait_for_watches(w, 1, 5s));
  EXPECT_NO_THROW(sc_->delete_pod(p)) << "the watcher still held the volume's mount";
  EXPECT_FALSE(mounted_at(p.volume));
}

TEST_F(PodScenarioLive, IdempotentAndClearErrors) {
  PodPaths p1 = sc_->create_pod({"idem-pod", Pinning::OtherNamespace});
  PodPaths p2 = sc_->create_pod({"idem-pod", Pinning::OtherNamespace});
  EXPECT_EQ(p1.volume, p2.volume);
  EXPECT_EQ(p1.other_ns_pid, p2.other_ns_pid);
  EXPECT_EQ(p1.data_dir, p2.data_dir);
  size_t at_volume = 0;
  for (const auto& m : mounts_under(p1.volume)) at_volume += m.mount_point == p1.volume;
  EXPECT_EQ(at_volume, 1u);
  EXPECT_THROW(sc_->create_pod({"idem-pod", Pinning::None}), std::runtime_error);
  EXPECT_THROW(sc_->create_pod({"../escape", Pinning::None}), std::runtime_error);
  sc_->delete_pod(p1);
  EXPECT_NO_THROW(sc_->delete_pod(p1));
  try {
    sc_->start_watcher({root_->sub("no/such/file")});
    ADD_FAILURE() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("inotify_add_watch(" + root_->sub("no/such/file") +
                                         "): No such file"),
              std::string::npos)
        << e.what();
  }
  try {
    ScratchRoot bad("/var/lib/kubelet/pods");
    ADD_FAILURE() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("inside the real /var/lib/kubelet"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(ScratchRoot::cleanup_stale("/var/lib/kubelet"), std::runtime_error);
  root_->cleanup();
  EXPECT_NO_THROW(root_->cleanup());
}

TEST_F(PodScenarioLive, CleanupLeavesNoMountsNoProcesses) {
  std::vector<PodPaths> pods;
  for (Pinning pin : {Pinning::None, Pinning::MounterSameNamespace, Pinning::OtherNamespace,
                      Pinning::OtherNamespaceSameDir})
    pods.push_back(sc_->create_pod({"", pin}));
  std::vector<Watcher> watchers;
  for (const auto& p : pods)
    watchers.push_back(sc_->start_watcher(PodScenario::default_watch_paths(p)));
  sc_->delete_pod(pods[1]);  // a leaked one
  sc_->delete_pod(pods[2]);  // a leaked one, pinned elsewhere
  std::vector<pid_t> helpers = sc_->helper_pids();
  EXPECT_EQ(helpers.size(), 2u + pods.size());
  const std::string path = root_->path();
  EXPECT_FALSE(mountinfo_mentions(path).empty());
  for (pid_t h : helpers) EXPECT_TRUE(process_running(h)) << h;

  root_->cleanup();
  EXPECT_TRUE(mounts_under(path).empty());
  EXPECT_EQ(mountinfo_mentions(path), std::vector<std::string>{})
      << "some namespace still has our mounts";
  for (pid_t h : helpers)
    EXPECT_FALSE(exists("/proc/" + std::to_string(h))) << "helper " << h << " survives";
  EXPECT_FALSE(exists(path));
  EXPECT_TRUE(root_->processes().empty());
}

TEST(ScratchRootLive, CleanupStaleRemovesRootOfKilledRun) {
  REQUIRE_ROOT();
  char tmpl[] = "/tmp/inotrace-stale-parent.XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string parent = tmpl;
  ScratchRoot alive(parent);  // a live run's root: not stale
  ASSERT_EQ(::mkdir((parent + "/inotrace-pods.notours").c_str(), 0755), 0);  // no marker: not ours

  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    try {
      ScratchRoot r(parent);
      PodScenario sc(r);
      auto p1 = sc.create_pod({"", Pinning::MounterSameNamespace});
      auto p2 = sc.create_pod({"", Pinning::OtherNamespace});
      Watcher w = sc.start_watcher(PodScenario::default_watch_paths(p1));
      sc.delete_pod(p1);
      std::string msg = r.path();
      for (pid_t h : sc.helper_pids()) msg += " " + std::to_string(h);
      msg += "\n";
      if (::write(fds[1], msg.data(), msg.size()) < 0) ::_exit(3);
      for (;;) ::pause();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child: %s\n", e.what());
    }
    ::_exit(2);
  }
  ::close(fds[1]);
  std::string msg;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) {
    msg.append(buf, static_cast<size_t>(n));
    if (msg.find('\n') != std::string::npos) break;
  }
  ::close(fds[0]);
  std::istringstream in(msg);
  std::string stale;
  in >> stale;
  std::vector<pid_t> helpers;
  for (pid_t h; in >> h;) helpers.push_back(h);
  ASSERT_FALSE(stale.empty()) << "the child failed to set up";
  ASSERT_EQ(helpers.size(), 2u);
  EXPECT_GE(mounts_under(stale).size(), 3u);  // self-bind, mounter tmpfs, other pod's mounts

  ASSERT_EQ(::kill(child, SIGKILL), 0);  // kill -9: no destructor runs
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
  ASSERT_TRUE(exists(stale + "/" + kScratchMarkerName));

  auto result = ScratchRoot::cleanup_stale(parent);
  EXPECT_EQ(result.removed, std::vector<std::string>{stale});
  EXPECT_EQ(result.refused,
            std::vector<std::string>{parent + "/inotrace-pods.notours: mode 0755, ours are 0700"});
  EXPECT_FALSE(exists(stale));
  EXPECT_TRUE(mounts_under(stale).empty());
  // The helpers were not signalled by cleanup_stale: PR_SET_PDEATHSIG killed them with the run.
  for (pid_t h : helpers)
    EXPECT_TRUE(eventually([&] { return !process_running(h); }, 10s)) << "helper " << h;
  EXPECT_TRUE(eventually([&] { return mountinfo_mentions(stale).empty(); }, 10s))
      << "a namespace still holds the stale root's mounts";
  EXPECT_TRUE(exists(alive.path())) << "a live run's root is not stale";
  EXPECT_TRUE(mounted_at(alive.path()));
  EXPECT_TRUE(exists(parent + "/inotrace-pods.notours"));
  EXPECT_TRUE(ScratchRoot::cleanup_stale(parent).removed.empty()) << "idempotent";

  alive.cleanup();
  ::rmdir((parent + "/inotrace-pods.notours").c_str());
  EXPECT_EQ(::rmdir(parent.c_str()), 0);
}


// Runs `body` in a child process as uid/gid 65534 with no groups (what `setpriv --reuid=65534
// --regid=65534 --clear-groups` does); true if it exited 0.
bool as_nobody(const std::function<bool()>& body) {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setresgid(65534, 65534, 65534) != 0 ||
        ::setresuid(65534, 65534, 65534) != 0)
      ::_exit(2);
    ::_exit(body() ? 0 : 1);
  }
  int st = 0;
  return pid > 0 && ::waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

bool write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
  return static_cast<bool>(f);
}

// Security (issue 11, item 1): a hostile user who can write into --out (a 1777 directory) plants
// a "stale scratch root" whose marker names a dead pid and whose process registry names a
// victim. Root's cleanup must refuse it (not ours: another owner) and signal nobody.
TEST(ScratchRootLive, StaleRootPlantedByAnotherUserKillsNobody) {
  REQUIRE_ROOT();
  char tmpl[] = "/tmp/inotrace-shared.XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string shared = tmpl;
  ASSERT_EQ(::chmod(shared.c_str(), 01777), 0);

  pid_t victim = ::fork();  // a process of someone else's: root's `sleep`
  ASSERT_GE(victim, 0);
  if (victim == 0) {
    ::execl("/bin/sleep", "sleep", "600", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ASSERT_TRUE(eventually([&] { return process_start_time(victim) != 0; }));
  pid_t dead = ::fork();  // a pid that no longer runs: the "killed creator"
  if (dead == 0) ::_exit(0);
  ASSERT_EQ(::waitpid(dead, nullptr, 0), dead);

  const std::string planted = shared + "/" + kScratchRootPrefix + "evil";
  const std::string victim_line =
      std::to_string(victim) + " " + std::to_string(process_start_time(victim)) + "\n";
  ASSERT_TRUE(as_nobody([&] {
    return ::mkdir(planted.c_str(), 0755) == 0 &&
           write_text(planted + "/.inotrace-scratch-root", std::string(kScratchMarkerMagic) +
                                                              "\npid " + std::to_string(dead) +
                                                              "\nstarttime 1\n") &&
           write_text(planted + "/.inotrace-processes", victim_line);
  })) << "planting as uid 65534 failed";

  // And a symlink posing as a scratch root, to a directory of root's.
  const std::string decoy = shared + "/decoy";
  ASSERT_EQ(::mkdir(decoy.c_str(), 0700), 0);
  ASSERT_TRUE(as_nobody([&] {
    return ::symlink(decoy.c_str(), (shared + "/" + kScratchRootPrefix + "link").c_str()) == 0;
  }));

  auto stale = ScratchRoot::cleanup_stale(shared);
  EXPECT_TRUE(stale.removed.empty());
  ASSERT_EQ(stale.refused.size(), 2u);
  EXPECT_EQ(stale.refused[0], planted + ": owned by uid 65534, not by us (uid 0)");
  EXPECT_EQ(stale.refused[1],
            shared + "/" + kScratchRootPrefix + "link: not a directory (a symlink or a file)");

  EXPECT_EQ(::waitpid(victim, nullptr, WNOHANG), 0) << "root's cleanup killed the victim";
  EXPECT_TRUE(exists(planted + "/.inotrace-scratch-root")) << "the planted root was touched";

  ::kill(victim, SIGKILL);
  ::waitpid(victim, nullptr, 0);
  std::filesystem::remove_all(shared);
}

}  // namespace
}  // namespace inotrace::repro
