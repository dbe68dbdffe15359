// e2e: `inotrace repro` as a user runs it — the leaked watches are exactly those of pinned pods,
// nothing leaks without pinning, and an interrupted (or kill -9'd) run leaves no mounts,
// namespaces or processes behind.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

namespace inotrace {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string bin() {
  const char* b = getenv("INOTRACE_BIN");
  return b ? b : INOTRACE_BIN_DEFAULT;
}

pid_t spawn_repro(const std::vector<std::string>& args, const std::string& log) {
  pid_t pid = fork();
  if (pid == 0) {
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

// Processes that are inotrace (the repro itself or the helpers it forked).
std::vector<pid_t> inotrace_processes() {
  std::vector<pid_t> out;
  for (const auto& e : fs::directory_iterator("/proc")) {
    std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string comm = slurp("/proc/" + name + "/comm");
    if (comm == "inotrace\n") out.push_back(std::stoi(name));
  }
  return out;
}

// Helpers die with their parent through PR_SET_PDEATHSIG, which takes a moment: wait for them.
bool no_inotrace_processes_within(std::chrono::seconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (!inotrace_processes().empty()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return true;
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

TEST_F(ReproE2E, WithoutPinningNothingLeaks) {
  json r = run({"--pods", "5", "--pin", "0"});
  EXPECT_EQ(r["totals"]["leaked"], 0);
  EXPECT_FALSE(r["verdict"]["reproduced"].get<bool>());
  for (const auto& p : r["pods"]) EXPECT_EQ(p["leaked"], 0);
}

TEST_F(ReproE2E, InterruptedRunLeavesNothingBehind) {
  ASSERT_TRUE(no_inotrace_processes_within(std::chrono::seconds(5))) << "another inotrace is running";
  std::string log = out_.string() + ".log";
  pid_t pid = spawn_repro({"repro", "--out", out_.string(), "--pods", "200", "--pin", "0.5", "--rate", "20",
                           "--lifetime", "3"},
                          log);
  std::this_thread::sleep_for(std::chrono::seconds(4));
  ASSERT_FALSE(mounts_mentioning(out_.string()).empty()) << "the run should be mid-way: " << slurp(log);
  kill(pid, SIGINT);
  EXPECT_EQ(wait_exit(pid), 130) << slurp(log);
  EXPECT_TRUE(mounts_mentioning(out_.string()).empty()) << mounts_mentioning(out_.string()).front();
  EXPECT_TRUE(no_inotrace_processes_within(std::chrono::seconds(3))) << "helper processes left";
  for (const auto& e : fs::directory_iterator(out_))
    EXPECT_EQ(e.path().filename().string().rfind("inotrace-pods.", 0), std::string::npos) << e.path();
}

TEST_F(ReproE2E, NextRunCleansUpAfterKillDashNine) {
  std::string log = out_.string() + ".log";
  pid_t pid = spawn_repro({"repro", "--out", out_.string(), "--pods", "200", "--pin", "0.5", "--rate", "20",
                           "--lifetime", "3"},
                          log);
  std::this_thread::sleep_for(std::chrono::seconds(4));
  kill(pid, SIGKILL);
  wait_exit(pid);
  // Helpers die with their parent (PR_SET_PDEATHSIG); the mounts stay.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_FALSE(mounts_mentioning(out_.string()).empty()) << "a kill -9 leaves mounts (or the test is wrong)";
  json r = run({"--pods", "1", "--pin", "0"});
  EXPECT_TRUE(mounts_mentioning(out_.string()).empty()) << mounts_mentioning(out_.string()).front();
  EXPECT_NE(slurp(out_.string() + ".log").find("left by an interrupted run"), std::string::npos) << slurp(out_.string() + ".log");
  EXPECT_TRUE(no_inotrace_processes_within(std::chrono::seconds(3)));
}

}  // namespace
}  // namespace inotrace
