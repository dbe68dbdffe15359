// e2e: `inotrace repro` as a user runs it — the leaked watches are exactly those of pinned pods,
// nothing leaks without pinning, and an interrupted (or kill -9'd) run leaves no mounts,
// namespaces or processes behind.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <grp.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

namespace inotrace {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string bin() {
  const char* b = getenv("INOTRACE_BIN");
  return b ? b : INOTRACE_BIN_DEFAULT;
}

pid_t spawn_repro(const std::vector<std::string>& args, const std::string& log, const std::string& cwd = "") {
  pid_t pid = fork();
  if (pid == 0) {
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(126);
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<char*> argv;
    std::string b = bin();
    argv.push_back(b.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(b.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

int wait_exit(pid_t pid) {
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

std::string slurp(const std::string& p) {
  std::ifstream f(p);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// Every line of every process's mountinfo that mentions `dir`.
std::vector<std::string> mounts_mentioning(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator("/proc")) {
    std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::istringstream in(slurp("/proc/" + name + "/mountinfo"));
    for (std::string line; std::getline(in, line);)
      if (line.find(dir) != std::string::npos) out.push_back(name + ": " + line);
  }
  return out;
}

// A pod's volume of a run under `out` is mounted in this (the repro's) mount namespace.
bool pod_mounted(const std::string& out) {
  std::istringstream in(slurp("/proc/self/mountinfo"));
  for (std::string line; std::getline(in, line);)
    if (line.find(out + "/inotrace-pods.") != std::string::npos && line.find("kube-api-access-") != std::string::npos)
      return true;
  return false;
}

// Processes that are this test's inotrace repro (the repro itself or the helpers it forked: they
// keep its command line, which names `out`); other inotrace runs on the machine do not count.
std::vector<pid_t> inotrace_processes(const std::string& out) {
  std::vector<pid_t> found;
  for (const auto& e : fs::directory_iterator("/proc")) {
    std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string comm = slurp("/proc/" + name + "/comm");
    std::string cmdline = slurp("/proc/" + name + "/cmdline");
    if (comm == "inotrace\n" && cmdline.find(out) != std::string::npos) found.push_back(std::stoi(name));
  }
  return found;
}

// Helpers die with their parent through PR_SET_PDEATHSIG, which takes a moment: wait for them.
bool no_inotrace_processes_within(const std::string& out, std::chrono::seconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (!inotrace_processes(out).empty()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return true;
}

// Waits until pred holds (true) or the limit passes (false).
bool eventually(const std::function<bool()>& pred, std::chrono::seconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// Runs `body` in a child as uid/gid 65534 without groups (setpriv --reuid=65534 --regid=65534
// --clear-groups): the hostile local user. True if it returned true.
bool as_nobody(const std::function<bool()>& body) {
  pid_t pid = fork();
  if (pid == 0) {
    if (setgroups(0, nullptr) != 0 || setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0)
      _exit(2);
    _exit(body() ? 0 : 1);
  }
  return pid > 0 && wait_exit(pid) == 0;
}

bool write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
  return static_cast<bool>(f);
}

// /proc/<pid>/stat field 22.
std::string start_time_of(pid_t pid) {
  std::string s = slurp("/proc/" + std::to_string(pid) + "/stat");
  std::istringstream rest(s.substr(s.rfind(')') + 1));
  std::string field;
  for (int i = 3; i <= 22; ++i) rest >> field;
  return field;
}

class ReproE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "SKIPPED (e2e): needs root";
    ASSERT_FALSE(bin().empty()) << "INOTRACE_BIN must name the inotrace binary";
    out_ = fs::temp_directory_path() / ("inotrace-repro-e2e." + std::to_string(getpid()));
    fs::remove_all(out_);
    fs::create_directories(out_);
  }
  void TearDown() override {
    if (!out_.empty()) fs::remove_all(out_);
  }
  json run(const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"repro", "--out", out_.string(), "--json", "--rate", "20", "--lifetime", "0.5"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::string log = out_.string() + ".log";
    int rc = wait_exit(spawn_repro(args, log));
    EXPECT_EQ(rc, 0) << slurp(log);
    return json::parse(slurp(out_ / "report.json"));
  }
  // A short run of `inotrace repro` with these arguments; its exit code, its output in *log_text.
  int run_short(const std::vector<std::string>& extra, std::string* log_text, const std::string& cwd = "") {
    std::vector<std::string> args = {"repro", "--pods", "1", "--pin", "0", "--rate", "20", "--lifetime", "0"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::string log = out_.string() + ".log";
    int rc = wait_exit(spawn_repro(args, log, cwd));
    *log_text = slurp(log);
    return rc;
  }
  fs::path out_;
};

TEST_F(ReproE2E, LeaksAreExactlyTheWatchesOfPinnedPods) {
  json r = run({"--pods", "8", "--pin", "0.5"});
  int pinned = 0;
  for (const auto& p : r["pods"]) {
    EXPECT_EQ(p["added"], 3) << p.dump();
    if (p["pinned"]) {
      pinned++;
      // The volume root and its token live on the pinned tmpfs; the configmap dir is deleted.
      EXPECT_EQ(p["leaked"], 2) << p.dump();
      EXPECT_EQ(p["removed"].value("inode_deleted", 0), 1) << p.dump();
      ASSERT_EQ(p["pinned_by"].size(), 1u) << p.dump();
      EXPECT_NE(p["pinned_by"][0]["mount_point"].get<std::string>().find("containerized_mounter/rootfs/var/lib/kubelet/pods/" +
                                                                         p["uid"].get<std::string>()),
                std::string::npos);
    } else {
      EXPECT_EQ(p["leaked"], 0) << p.dump();
      EXPECT_EQ(p["removed"].value("unmount", 0), 2) << p.dump();
    }
  }
  EXPECT_EQ(pinned, 4);
  EXPECT_EQ(r["totals"]["leaked"], 2 * pinned);
  EXPECT_EQ(r["totals"]["leaked_on_unpinned"], 0);
  EXPECT_TRUE(r["verdict"]["reproduced"].get<bool>());
  EXPECT_FALSE(r["timeline"].empty());
  for (const char* f : {"report.md", "watches.svg"}) EXPECT_TRUE(fs::exists(out_ / f)) << f;
  EXPECT_NE(slurp(out_ / "report.md").find("leak reproduced"), std::string::npos);
  EXPECT_TRUE(mounts_mentioning(out_.string()).empty());
}

// --stacks: the report says which code created what leaked — the built-in watcher's add, one
// stack for every leaked watch (the built-in watcher adds from one place).
TEST_F(ReproE2E, StacksGroupTheLeaksByTheWatchersCreatingStack) {
  json r = run({"--pods", "4", "--pin", "0.5", "--stacks"});
  ASSERT_EQ(r["totals"]["leaked"], 4) << r["totals"].dump();
  ASSERT_TRUE(r.contains("leaks_by_stack")) << "no leaks_by_stack with --stacks";
  const json& groups = r["leaks_by_stack"];
  ASSERT_EQ(groups.size(), 1u) << groups.dump();
  EXPECT_EQ(groups[0]["count"], 4);
  EXPECT_EQ(groups[0]["pods"].size(), 2u);
  ASSERT_FALSE(groups[0]["stack"].is_null()) << "every leaked watch was added while tracing";
  EXPECT_EQ(groups[0]["stack"]["quality"], "frame-pointer") << groups[0].dump();
  bool watcher = false;
  for (const auto& f : groups[0]["top_frames"])
    watcher |= f.get<std::string>().find("PodScenario13start_watcher") != std::string::npos;
  EXPECT_TRUE(watcher) << groups[0]["top_frames"].dump();
  std::string md = slurp(out_ / "report.md");
  EXPECT_NE(md.find("## Leaked watches by creating stack"), std::string::npos);
  EXPECT_NE(md.find("| 4 | 2 | frame-pointer |"), std::string::npos) << md;
}

TEST_F(ReproE2E, WithoutPinningNothingLeaks) {
  json r = run({"--pods", "5", "--pin", "0"});
  EXPECT_EQ(r["totals"]["leaked"], 0);
  EXPECT_FALSE(r["verdict"]["reproduced"].get<bool>());
  for (const auto& p : r["pods"]) EXPECT_EQ(p["leaked"], 0);
}

TEST_F(ReproE2E, InterruptedRunLeavesNothingBehind) {
  std::string log = out_.string() + ".log";
  pid_t pid = spawn_repro({"repro", "--out", out_.string(), "--pods", "200", "--pin", "0.5", "--rate", "20",
                           "--lifetime", "3"},
                          log);
  // Mid-way: pods are mounted (waiting for that, not for a fixed time: BPF loading under load
  // can take seconds).
  bool midway = eventually([&] { return pod_mounted(out_.string()); },
                           std::chrono::seconds(60));
  if (!midway) kill(pid, SIGKILL);
  ASSERT_TRUE(midway) << "the run should be mid-way: " << slurp(log);
  kill(pid, SIGINT);
  EXPECT_EQ(wait_exit(pid), 130) << slurp(log);
  EXPECT_TRUE(mounts_mentioning(out_.string()).empty()) << mounts_mentioning(out_.string()).front();
  EXPECT_TRUE(no_inotrace_processes_within(out_.string(), std::chrono::seconds(10))) << "helper processes left";
  for (const auto& e : fs::directory_iterator(out_))
    EXPECT_EQ(e.path().filename().string().rfind("inotrace-pods.", 0), std::string::npos) << e.path();
}

TEST_F(ReproE2E, NextRunCleansUpAfterKillDashNine) {
  std::string log = out_.string() + ".log";
  pid_t pid = spawn_repro({"repro", "--out", out_.string(), "--pods", "200", "--pin", "0.5", "--rate", "20",
                           "--lifetime", "3"},
                          log);
  bool midway = eventually([&] { return pod_mounted(out_.string()); },
                           std::chrono::seconds(60));
  kill(pid, SIGKILL);
  wait_exit(pid);
  ASSERT_TRUE(midway) << "the run should be mid-way: " << slurp(log);
  // Helpers die with their parent (PR_SET_PDEATHSIG); the mounts stay.
  ASSERT_TRUE(no_inotrace_processes_within(out_.string(), std::chrono::seconds(10))) << "helpers outlive a kill -9";
  ASSERT_FALSE(mounts_mentioning(out_.string()).empty()) << "a kill -9 leaves mounts (or the test is wrong)";
  json r = run({"--pods", "1", "--pin", "0"});
  EXPECT_TRUE(mounts_mentioning(out_.string()).empty()) << mounts_mentioning(out_.string()).front();
  EXPECT_NE(slurp(out_.string() + ".log").find("left by an interrupted run"), std::string::npos) << slurp(out_.string() + ".log");
  EXPECT_TRUE(no_inotrace_processes_within(out_.string(), std::chrono::seconds(10)));
}


// Security (issue 11, item 1): uid 65534 plants a "stale scratch root" in a 1777 --out whose
// process registry names a victim; root's repro must leave it alone and kill nobody.
TEST_F(ReproE2E, PlantedStaleRootInSharedOutKillsNobody) {
  ASSERT_EQ(chmod(out_.c_str(), 01777), 0);
  pid_t victim = fork();
  if (victim == 0) {
    execl("/bin/sleep", "sleep", "600", static_cast<char*>(nullptr));
    _exit(127);
  }
  ASSERT_TRUE(eventually([&] { return slurp("/proc/" + std::to_string(victim) + "/comm") == "sleep\n"; },
                         std::chrono::seconds(10)));
  pid_t dead = fork();
  if (dead == 0) _exit(0);
  wait_exit(dead);
  const std::string planted = (out_ / "inotrace-pods.evil").string();
  const std::string victim_line = std::to_string(victim) + " " + start_time_of(victim) + "\n";
  ASSERT_TRUE(as_nobody([&] {
    return mkdir(planted.c_str(), 0755) == 0 &&
           write_text(planted + "/.inotrace-scratch-root",
                      "inotrace-scratch-root v1\npid " + std::to_string(dead) + "\nstarttime 1\n") &&
           write_text(planted + "/.inotrace-processes", victim_line);
  }));

  std::string log;
  int rc = run_short({"--out", out_.string()}, &log);
  bool victim_alive = waitpid(victim, nullptr, WNOHANG) == 0;
  kill(victim, SIGKILL);
  waitpid(victim, nullptr, 0);
  EXPECT_TRUE(victim_alive) << "root's repro killed another process, named by a planted file:\n" << log;
  EXPECT_EQ(rc, 0) << log;
  EXPECT_TRUE(fs::exists(planted + "/.inotrace-processes")) << "the planted root was removed";
  EXPECT_NE(log.find("left alone " + planted + ": owned by uid 65534"), std::string::npos) << log;
}

// Security (item 2): --out's path never reaches a shell (it used to be pasted into system()).
TEST_F(ReproE2E, OutDirNameNeverReachesAShell) {
  const fs::path out = out_ / "x'$(touch PWNED)'";
  std::string log;
  int rc = run_short({"--out", out.string()}, &log, out_.string());
  EXPECT_EQ(rc, 0) << log;
  EXPECT_FALSE(fs::exists(out_ / "PWNED")) << "a shell ran the command in --out's name";
  ASSERT_TRUE(fs::exists("/usr/bin/rsvg-convert")) << "librsvg2-bin is a test dependency";
  EXPECT_EQ(slurp(out / "watches.png").substr(0, 4), "\x89PNG") << log;
}

// Security (item 3): a symlink planted as report.json in a 1777 --out is never followed.
TEST_F(ReproE2E, PlantedReportSymlinkIsNeverFollowed) {
  ASSERT_EQ(chmod(out_.c_str(), 01777), 0);
  const std::string secret = out_.string() + ".secret";
  ASSERT_TRUE(write_text(secret, "root's secret\n"));
  ASSERT_EQ(chmod(secret.c_str(), 0600), 0);
  ASSERT_TRUE(as_nobody([&] { return symlink(secret.c_str(), (out_ / "report.json").c_str()) == 0; }));

  std::string log;
  int rc = run_short({"--out", out_.string()}, &log);
  EXPECT_EQ(rc, 1) << log;
  EXPECT_NE(log.find("inotrace: error: --out " + out_.string() + " is not empty"), std::string::npos) << log;
  EXPECT_TRUE(slurp(secret) == "root's secret\n")
      << "root's file was overwritten through the symlink: " << slurp(secret).substr(0, 40) << "...";

  rc = run_short({"--out", out_.string(), "--force"}, &log);
  EXPECT_EQ(rc, 1) << log;
  // The refusal reads "it is a symlink" (ELOOP); in a sticky world-writable directory the kernel
  // refuses O_CREAT on another user's entry first ("Permission denied").
  EXPECT_NE(log.find("inotrace: error: cannot open " + (out_ / "report.json").string() + " for writing: "),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find("internal error"), std::string::npos) << log;
  EXPECT_TRUE(slurp(secret) == "root's secret\n")
      << "root's file was overwritten through the symlink: " << slurp(secret).substr(0, 40) << "...";
  EXPECT_TRUE(mounts_mentioning(out_.string()).empty());

  // The same symlink in a directory of root's (not sticky): refused as a symlink.
  const fs::path own = out_ / "own";
  fs::create_directories(own);
  ASSERT_EQ(symlink(secret.c_str(), (own / "report.json").c_str()), 0);
  rc = run_short({"--out", own.string(), "--force"}, &log);
  EXPECT_EQ(rc, 1) << log;
  EXPECT_NE(log.find("inotrace: error: cannot open " + (own / "report.json").string() + " for writing: it is a symlink"),
            std::string::npos)
      << log;
  EXPECT_TRUE(slurp(secret) == "root's secret\n") << "overwritten through the symlink";
  fs::remove(secret);
}

// Item 3: `--out /` and a non-empty --out without --force are refused with one clear line.
TEST_F(ReproE2E, RefusesRootDirectoryAndNonEmptyOut) {
  std::string log;
  EXPECT_EQ(run_short({"--out", "/"}, &log), 1) << log;
  EXPECT_NE(log.find("inotrace: error: --out /: refusing"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists("/report.json"));

  // A directory another user owns (or could write without a sticky bit) could be swapped for a
  // symlink while root mounts under it: refused, and nothing is created in it.
  const fs::path theirs = out_ / "theirs";
  fs::create_directories(theirs);
  ASSERT_EQ(chown(theirs.c_str(), 65534, 65534), 0);
  EXPECT_EQ(run_short({"--out", (theirs / "out").string()}, &log), 1) << log;
  EXPECT_NE(log.find("refusing " + theirs.string() + ": it belongs to uid 65534"), std::string::npos) << log;
  EXPECT_TRUE(fs::is_empty(theirs));
  fs::remove(theirs);

  ASSERT_TRUE(write_text((out_ / "keep.txt").string(), "user data\n"));
  EXPECT_EQ(run_short({"--out", out_.string()}, &log), 1) << log;
  EXPECT_NE(log.find("is not empty"), std::string::npos) << log;
  EXPECT_NE(log.find("--force"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(out_ / "report.json"));

  EXPECT_EQ(run_short({"--out", out_.string(), "--force"}, &log), 0) << log;
  EXPECT_TRUE(fs::exists(out_ / "report.json"));
  EXPECT_EQ(slurp((out_ / "keep.txt").string()), "user data\n");
  // A second --force run replaces its own reports.
  EXPECT_EQ(run_short({"--out", out_.string(), "--force"}, &log), 0) << log;
}

// Item 3: a failure inside --out (here: a read-only filesystem) is a one-line user error, exit 1.
TEST_F(ReproE2E, UnwritableOutIsAOneLineError) {
  const fs::path ro = out_ / "ro";
  fs::create_directories(ro);
  ASSERT_EQ(mount("tmpfs", ro.c_str(), "tmpfs", MS_RDONLY, "mode=0755"), 0);
  std::string log;
  int rc = run_short({"--out", ro.string()}, &log);
  umount2(ro.c_str(), MNT_DETACH);
  EXPECT_EQ(rc, 1) << log;
  EXPECT_NE(log.find("inotrace: error: "), std::string::npos) << log;
  EXPECT_NE(log.find("Read-only file system"), std::string::npos) << log;
  EXPECT_EQ(log.find("internal error"), std::string::npos) << log;
}

}  // namespace
}  // namespace inotrace
