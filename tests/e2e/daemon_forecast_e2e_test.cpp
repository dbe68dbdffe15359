// e2e (issue 14 items 2 and 3): the daemon's per-user views of instances and of what is running
// out, against the real `inotrace daemon` binary ($INOTRACE_BIN) and plain processes: a steady
// watch leak gets a finite, right forecast of when max_user_watches is reached (and the rate
// falls once the leak stops); an inotify_init refused for max_user_instances shows who was
// refused, in /api/users and in inotrace_init_failures_total.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <grp.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <optional>
#include <sstream>

#include "daemon_process.h"
#include "util/small_file.h"

namespace inotrace {
namespace {

using json = nlohmann::json;
using namespace std::chrono;
using e2e::DaemonProcess;
using e2e::get_request;
using e2e::raw_http;

// Users of their own, so that no other process on the machine is counted in their rows.
constexpr uid_t kLeakUid = 42471;
constexpr uid_t kRefusedUid = 42472;
constexpr uid_t kHolderUid = 42473;

struct ForecastTempDir {
  std::string path;
  explicit ForecastTempDir(const char* name) {
    std::string t = std::string("/tmp/") + name + ".XXXXXX";
    path = mkdtemp(t.data());
    chmod(path.c_str(), 0755);  // the leaking user reads the directories under it
  }
  ~ForecastTempDir() { std::filesystem::remove_all(path); }
};

std::vector<std::string> args_for(const ForecastTempDir& dir, std::vector<std::string> more) {
  std::vector<std::string> a = {"--pods-root", dir.path + "/pods", "--kubepods-cgroup", "none", "--api-token-file",
                                dir.path + "/api-token"};
  a.insert(a.end(), more.begin(), more.end());
  return a;
}

std::string token_of(const ForecastTempDir& dir) {
  std::ifstream f(dir.path + "/api-token");
  std::string t;
  std::getline(f, t);
  return t;
}

// The row of `uid` in /api/users (null if it has none).
json user_row(const json& users, uid_t uid) {
  for (const auto& u : users["users"])
    if (u["uid"] == uid) return u;
  return nullptr;
}

json get_users(const DaemonProcess& d, const std::string& token) {
  return json::parse(raw_http(d.port(), get_request("/api/users", token)).body, nullptr, false);
}

// The value of the first sample of `metric` whose labels contain every one of `labels`.
std::optional<double> metric_value(const std::string& text, const std::string& metric, const std::vector<std::string>& labels) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(metric + "{", 0) != 0) continue;
    bool all = true;
    for (const auto& l : labels) all = all && line.find(l) != std::string::npos;
    if (all) return strtod(line.c_str() + line.rfind(' ') + 1, nullptr);  // strtod reads "+Inf"
  }
  return std::nullopt;
}

// `promtool check metrics` on `text`: its exit status and output; nullopt without promtool.
std::optional<std::pair<int, std::string>> promtool_check(const std::string& text) {
  if (access("/usr/bin/promtool", X_OK) != 0) return std::nullopt;
  char in_path[] = "/tmp/inotrace-e2e-metrics.XXXXXX", out_path[] = "/tmp/inotrace-e2e-promtool.XXXXXX";
  int in = mkstemp(in_path), out = mkstemp(out_path);
  if (write(in, text.data(), text.size()) != (ssize_t)text.size()) return std::pair{-1, std::string("write failed")};
  lseek(in, 0, SEEK_SET);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in, 0), dup2(out, 1), dup2(out, 2);
    execl("/usr/bin/promtool", "promtool", "check", "metrics", (char*)nullptr);
    _exit(127);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  close(in), close(out);
  std::ifstream f(out_path);
  std::pair<int, std::string> r{WIFEXITED(st) ? WEXITSTATUS(st) : 128, std::string(std::istreambuf_iterator<char>(f), {})};
  unlink(in_path), unlink(out_path);
  return r;
}

bool become(uid_t uid) { return setgroups(0, nullptr) == 0 && setresgid(uid, uid, uid) == 0 && setresuid(uid, uid, uid) == 0; }

// A process of `uid` that adds one watch every 1/rate s (dir/d0, dir/d1, ...) on a fixed
// schedule, until stopped (SIGSTOP: it keeps its watches) or killed.
struct Leaker {
  pid_t pid = -1;
  Leaker(uid_t uid, const std::string& dir, int rate, int n) {
    pid = fork();
    if (pid != 0) return;
    prctl(PR_SET_NAME, "leaker");
    int fd = become(uid) ? inotify_init1(0) : -1;
    if (fd < 0) _exit(1);
    auto start = steady_clock::now();
    for (int i = 0; i < n; i++) {
      std::this_thread::sleep_until(start + microseconds(1'000'000LL * i / rate));
      if (inotify_add_watch(fd, fmt::format("{}/d{}", dir, i).c_str(), IN_CREATE) < 0) _exit(2);
    }
    pause();
    _exit(0);
  }
  ~Leaker() {
    if (pid > 0) kill(pid, SIGKILL), waitpid(pid, nullptr, 0);
  }
};

// /metrics during the leak: the leaker's time left near `truth`, its instances' +Inf, and a page
// promtool accepts.
void expect_leak_metrics(const std::string& metrics, double truth) {
  std::string uid_label = fmt::format("uid=\"{}\"", kLeakUid);
  auto metric_left = metric_value(metrics, "inotrace_user_watches_exhaustion_seconds", {uid_label});
  ASSERT_TRUE(metric_left) << metrics;
  EXPECT_GT(*metric_left, truth / 1.25);
  EXPECT_LT(*metric_left, truth * 1.25);
  auto metric_inst = metric_value(metrics, "inotrace_user_instances_exhaustion_seconds", {uid_label});
  ASSERT_TRUE(metric_inst) << metrics;
  EXPECT_TRUE(std::isinf(*metric_inst) && *metric_inst > 0) << "+Inf: " << *metric_inst;
  if (auto check = promtool_check(metrics)) EXPECT_EQ(check->first, 0) << check->second;
  else fmt::print("promtool not installed: /metrics not checked by it\n");
}

// A steady leak of 20 watches/s for 28 s, seen by a daemon averaging over 20 s: a forecast of
// (max_user_watches - count) / 20 s within 20%, none before the warm-up (10 s), the instances
// flat (+Inf); once the leak stops, the rate falls. Metrics agree and pass promtool.
TEST(DaemonForecastE2E, SteadyLeakGetsAFiniteForecastAndStoppingItLowersTheRate) {
  if (geteuid() != 0) GTEST_SKIP() << "SKIPPED (e2e): needs root";
  constexpr int kRate = 20, kLeakSeconds = 28;
  ForecastTempDir dir("inotrace-e2e-forecast");
  for (int i = 0; i < kRate * (kLeakSeconds + 20); i++) ASSERT_EQ(mkdir(fmt::format("{}/d{}", dir.path, i).c_str(), 0755), 0);
  DaemonProcess d(args_for(dir, {"--forecast-window", "20"}));
  ASSERT_TRUE(d.wait_ready(seconds(60))) << d.log();
  std::string token = token_of(dir);
  ASSERT_TRUE(user_row(get_users(d, token), kLeakUid).is_null()) << "uid " << kLeakUid << " is in use on this machine";

  Leaker leak(kLeakUid, dir.path, kRate, kRate * (kLeakSeconds + 20));
  auto t0 = steady_clock::now();
  std::this_thread::sleep_until(t0 + seconds(4));
  json early = user_row(get_users(d, token), kLeakUid);
  ASSERT_FALSE(early.is_null()) << "the leaker's row after 4 s";
  EXPECT_TRUE(early["watches_rate_per_s"].is_null()) << "no rate before the 10 s warm-up: " << early.dump();
  EXPECT_TRUE(early["watches_growing"].is_null()) << early.dump();

  std::this_thread::sleep_until(t0 + seconds(kLeakSeconds));
  json during = user_row(get_users(d, token), kLeakUid);
  std::string metrics = raw_http(d.port(), get_request("/metrics")).body;
  kill(leak.pid, SIGSTOP);
  fmt::print("after {} s of leak: {}\n", kLeakSeconds, during.dump());
  ASSERT_TRUE(during["max_user_watches"].is_number()) << during.dump();
  ASSERT_TRUE(during["watches_rate_per_s"].is_number()) << during.dump();
  double rate = during["watches_rate_per_s"];
  EXPECT_NEAR(rate, kRate, kRate * 0.2) << during.dump();
  EXPECT_EQ(during["watches_growing"], true);
  double kernel = during["kernel_watches"].is_number() ? during["kernel_watches"].get<double>() : 0;
  double used = std::max(during["present_watches"].get<double>(), kernel);
  EXPECT_GT(used, kRate * (kLeakSeconds - 3)) << "the leak ran: " << during.dump();
  // The true time left: the limit as the kernel has it, the count the leak reached, the rate it leaks at.
  double limit = (double)read_long_file("/proc/sys/fs/inotify/max_user_watches").value_or(-1);
  EXPECT_EQ(during["max_user_watches"].get<double>(), limit);
  double truth = (limit - used) / kRate;
  ASSERT_TRUE(during["watches_exhaustion_seconds"].is_number()) << during.dump();
  double forecast = during["watches_exhaustion_seconds"];
  EXPECT_GT(forecast, truth / 1.2) << "true time left " << truth << " s";
  EXPECT_LT(forecast, truth * 1.2) << "true time left " << truth << " s";
  // One instance all along: not growing.
  EXPECT_EQ(during["instances"], 1);
  // The kernel's counts come with a snapshot that saw the user (when one did): both or neither.
  if (during["kernel_watches"].is_number()) EXPECT_EQ(during["kernel_instances"], 1) << during.dump();
  else EXPECT_TRUE(during["kernel_instances"].is_null()) << during.dump();
  EXPECT_EQ(during["instances_growing"], false) << during.dump();
  EXPECT_TRUE(during["instances_exhaustion_seconds"].is_null());

  expect_leak_metrics(metrics, truth);

  // Stopped: the count stays, and the rate decays (20 s window: below 60% within 15 s).
  std::this_thread::sleep_for(seconds(15));
  json after = user_row(get_users(d, token), kLeakUid);
  std::this_thread::sleep_for(milliseconds(1500));  // several publishes later
  json later = user_row(get_users(d, token), kLeakUid);
  fmt::print("15 s after the leak stopped: {}\n", after.dump());
  ASSERT_TRUE(after["watches_rate_per_s"].is_number()) << after.dump();
  EXPECT_LT(after["watches_rate_per_s"].get<double>(), rate * 0.6) << after.dump();
  EXPECT_EQ(after["present_watches"], later["present_watches"]) << "the stopped leaker adds nothing";
  EXPECT_EQ(d.stop(), 0) << d.log();
}

// max_user_instances for one moment, restored by the destructor on every path.
struct InstanceLimitGuard {
  long long before = read_long_file("/proc/sys/fs/inotify/max_user_instances").value_or(-1);
  void restore() {
    if (before > 0) write_long_file("/proc/sys/fs/inotify/max_user_instances", before, nullptr);
  }
  ~InstanceLimitGuard() { restore(); }
};

// What a child of kRefusedUid got from three inotify_init1 calls: each one's errno (0: success).
struct InitResults {
  int err[3] = {-1, -1, -1};
};

InitResults three_inits_as(uid_t uid, pid_t* child) {
  int p[2];
  InitResults r;
  if (pipe(p) != 0) return r;
  *child = fork();
  if (*child == 0) {
    close(p[0]);
    prctl(PR_SET_NAME, "refused-init");
    InitResults mine;
    if (!become(uid)) _exit(1);
    for (int& e : mine.err) e = inotify_init1(IN_CLOEXEC) >= 0 ? 0 : errno;
    if (write(p[1], &mine, sizeof mine) != sizeof mine) _exit(1);
    _exit(0);  // its instances close with it
  }
  close(p[1]);
  if (read(p[0], &r, sizeof r) != sizeof r) r = InitResults{};
  close(p[0]);
  waitpid(*child, nullptr, 0);
  return r;
}

// /api/users once it lists `pid`'s refused init (or after 10 s).
json wait_for_refusal(const DaemonProcess& d, const std::string& token, pid_t pid) {
  json users;
  for (auto until = steady_clock::now() + seconds(10); steady_clock::now() < until; std::this_thread::sleep_for(milliseconds(200))) {
    users = get_users(d, token);
    for (const auto& x : users["refused_inits"])
      if (x["pid"] == pid) return users;
  }
  return users;
}

// `inotrace ARGS...`: its output (stdout and stderr), kept in `dir`.
std::string run_inotrace(const ForecastTempDir& dir, std::vector<std::string> args) {
  std::string out_path = dir.path + "/cmd.out";
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 1), dup2(fd, 2);
    std::vector<char*> argv{const_cast<char*>(e2e::inotrace_bin())};
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  waitpid(pid, nullptr, 0);
  std::ifstream f(out_path);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

std::string top_once(const DaemonProcess& d, const ForecastTempDir& dir) {
  return run_inotrace(dir, {"top", "--connect", fmt::format("127.0.0.1:{}", d.port()), "--api-token-file",
                            dir.path + "/api-token", "--once", "--no-color"});
}

// max_user_instances lowered to what the user holds + 2: its third inotify_init1 gets EMFILE, and
// the daemon names the refused process (pid, comm, uid, the kernel's count and limit at that
// moment) in /api/users and counts it in inotrace_init_failures_total{uid,user_ns,errno}.
TEST(DaemonForecastE2E, RefusedInotifyInitIsNamedAndCounted) {
  if (geteuid() != 0) GTEST_SKIP() << "SKIPPED (e2e): needs root";
  ForecastTempDir dir("inotrace-e2e-refused");
  DaemonProcess d(args_for(dir, {}));
  ASSERT_TRUE(d.wait_ready(seconds(60))) << d.log();
  std::string token = token_of(dir);
  json row = user_row(get_users(d, token), kRefusedUid);
  int held = row.is_null() ? 0 : row["instances"].get<int>();

  InitResults r;
  pid_t child = -1;
  long long before = -1;
  {
    InstanceLimitGuard limit;
    before = limit.before;
    ASSERT_GT(before, 0);
    // The limit is every user's: keep the moment short (root and others cannot init meanwhile).
    ASSERT_TRUE(write_long_file("/proc/sys/fs/inotify/max_user_instances", held + 2, nullptr));
    r = three_inits_as(kRefusedUid, &child);
  }
  EXPECT_EQ(read_long_file("/proc/sys/fs/inotify/max_user_instances").value_or(-1), before) << "restored";
  ASSERT_EQ(r.err[0], 0);
  ASSERT_EQ(r.err[1], 0);
  ASSERT_EQ(r.err[2], EMFILE) << "the third init as uid " << kRefusedUid;

  json users = wait_for_refusal(d, token, child);
  json refused;
  for (const auto& x : users["refused_inits"])
    if (x["pid"] == child) refused = x;
  fmt::print("refused: {}\ninit_failures: {}\n", refused.dump(), users["init_failures"].dump());
  ASSERT_FALSE(refused.is_null()) << users.dump();
  EXPECT_EQ(refused["comm"], "refused-init");
  EXPECT_EQ(refused["uid"], kRefusedUid);
  EXPECT_EQ(refused["errno"], "EMFILE");
  EXPECT_EQ(refused["user_instances"], held + 2) << "the kernel's count at the refusal";
  EXPECT_EQ(refused["max_user_instances"], held + 2) << "the limit at the refusal";
  json counted;
  for (const auto& f : users["init_failures"])
    if (f["uid"] == kRefusedUid && f["errno"] == "EMFILE") counted = f;
  ASSERT_FALSE(counted.is_null()) << users.dump();
  EXPECT_EQ(counted["count"], 1);
  EXPECT_EQ(counted["cause"], "max_user_instances") << "the user's instances had reached the limit";

  std::string metrics = raw_http(d.port(), get_request("/metrics")).body;
  auto total = metric_value(metrics, "inotrace_init_failures_total",
                            {fmt::format("uid=\"{}\"", kRefusedUid), "errno=\"EMFILE\"", "cause=\"max_user_instances\"",
                             fmt::format("user_ns=\"{}\"", refused["user_ns"].is_null() ? 0 : refused["user_ns"].get<uint64_t>())});
  ASSERT_TRUE(total) << metrics;
  EXPECT_EQ(*total, 1);
  if (auto check = promtool_check(metrics)) {
    EXPECT_EQ(check->first, 0) << check->second;
  }
  std::string top = top_once(d, dir);
  EXPECT_NE(top.find("REFUSED inotify_init"), std::string::npos) << top;
  EXPECT_NE(top.find(fmt::format("pid {} refused-init uid {} EMFILE (instances {}/{})", child, kRefusedUid, held + 2, held + 2)),
            std::string::npos) << top;
  EXPECT_EQ(d.stop(), 0) << d.log();
}

// A process of kHolderUid holding `instances` instances with `watches` watches on the first
// one, until killed.
struct Holder {
  pid_t pid = -1;
  Holder(const std::string& dir, int instances, int watches) {
    int ready[2];
    if (pipe(ready) != 0) return;
    pid = fork();
    if (pid == 0) {
      if (!become(kHolderUid)) _exit(1);
      std::vector<int> fds;
      for (int i = 0; i < instances; i++) fds.push_back(inotify_init1(0));
      for (int i = 0; i < watches; i++)
        if (inotify_add_watch(fds[0], fmt::format("{}/d{}", dir, i).c_str(), IN_CREATE) < 0) _exit(1);
      if (write(ready[1], "x", 1) != 1) _exit(1);
      pause();
      _exit(0);
    }
    close(ready[1]);
    char x;
    if (read(ready[0], &x, 1) != 1) pid = -pid;
    close(ready[0]);
  }
  ~Holder() {
    kill(pid > 0 ? pid : -pid, SIGKILL);
    waitpid(pid > 0 ? pid : -pid, nullptr, 0);
  }
};

// Position of `pid` among a snapshot's processes (-1: absent).
long position(const json& snap, pid_t pid) {
  const json& procs = snap["processes"];
  for (size_t i = 0; i < procs.size(); i++)
    if (procs[i]["pid"] == pid) return (long)i;
  return -1;
}

// `snapshot --sort instances` lists the holders of the most instances first (5 instances and 1
// watch before 1 instance and 8 watches); the default order is by watches. Users show their
// instances, the kernel's count of them and max_user_instances, in text and JSON.
TEST(SnapshotInstancesE2E, SortByInstancesPutsTheHoldersOfMostInstancesFirst) {
  if (geteuid() != 0) GTEST_SKIP() << "SKIPPED (e2e): needs root";
  ForecastTempDir dir("inotrace-e2e-sort");
  for (int i = 0; i < 8; i++) ASSERT_EQ(mkdir(fmt::format("{}/d{}", dir.path, i).c_str(), 0755), 0);
  Holder many_instances(dir.path, 5, 1), many_watches(dir.path, 1, 8);
  ASSERT_GT(many_instances.pid, 0);
  ASSERT_GT(many_watches.pid, 0);
  json by_inst = json::parse(run_inotrace(dir, {"snapshot", "--json", "--no-paths", "--top", "0", "--sort", "instances"}), nullptr, false);
  json by_watch = json::parse(run_inotrace(dir, {"snapshot", "--json", "--no-paths", "--top", "0"}), nullptr, false);
  ASSERT_FALSE(by_inst.is_discarded());
  ASSERT_FALSE(by_watch.is_discarded());
  long a = position(by_inst, many_instances.pid), b = position(by_inst, many_watches.pid);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  EXPECT_LT(a, b) << "--sort instances";
  EXPECT_EQ(by_inst["processes"][a]["instances"], 5);
  for (size_t i = 1; i < by_inst["processes"].size(); i++)
    EXPECT_GE(by_inst["processes"][i - 1]["instances"], by_inst["processes"][i]["instances"]);
  EXPECT_GT(position(by_watch, many_instances.pid), position(by_watch, many_watches.pid)) << "by watches";
  json holders;
  for (const auto& u : by_inst["users"])
    if (u["uid"] == kHolderUid) holders = u;
  ASSERT_FALSE(holders.is_null()) << by_inst["users"].dump();
  EXPECT_EQ(holders["instances"], 6);
  EXPECT_EQ(holders["kernel_instances"], 6) << "the kernel's own count (ucounts)";
  EXPECT_EQ(holders["max_user_instances"], read_long_file("/proc/sys/fs/inotify/max_user_instances").value_or(-2));
  std::string text = run_inotrace(dir, {"snapshot", "--no-paths", "--sort", "instances"});
  EXPECT_NE(text.find("PROCESSES (by instances)"), std::string::npos) << text;
  EXPECT_NE(text.find("KERNEL_INST"), std::string::npos) << text;
  EXPECT_NE(text.find("MAX_INST"), std::string::npos) << text;
}

}  // namespace
}  // namespace inotrace
