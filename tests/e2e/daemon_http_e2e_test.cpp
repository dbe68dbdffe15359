// e2e: the daemon's HTTP side as a hostile local user and a slow network see it, against the real
// `inotrace daemon` binary ($INOTRACE_BIN): who may read the API (issue 11 item 4), what a
// handful of idle or slow connections do to /healthz and /metrics (item 8), what the server
// answers to odd methods, paths and parameters (item 8), and what four concurrent listings of
// many watches cost the daemon in memory (item 9).
#include <gtest/gtest.h>
#include <grp.h>
#include <nlohmann/json.hpp>
#include <sys/inotify.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <atomic>
#include <filesystem>
#include <fmt/format.h>
#include <map>
#include <mutex>
#include <sstream>

#include "daemon_process.h"
#include "util/small_file.h"

namespace inotrace {
namespace {

using json = nlohmann::json;
using namespace std::chrono;
using e2e::DaemonProcess;
using e2e::free_loopback_port;
using e2e::get_request;
using e2e::raw_http;
using e2e::RawReply;

// A private 0700 directory under /tmp, removed at the end.
struct TempDir {
  std::string path;
  TempDir(const char* name) {
    std::string t = std::string("/tmp/") + name + ".XXXXXX";
    path = mkdtemp(t.data());
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

std::string read_token(const std::string& path) {
  std::ifstream f(path);
  std::string t;
  std::getline(f, t);
  return t;
}

std::vector<std::string> daemon_args(const TempDir& dir) {
  return {"--pods-root", dir.path + "/pods", "--kubepods-cgroup", "none", "--api-token-file", dir.path + "/api-token"};
}

// What uid 65534 gets from GET /api/watches (status; 0 = could not connect), run in a child that
// dropped every privilege. It also tries to read the token file.
struct NobodyResult {
  int status = -1;
  bool read_token = false;
};
NobodyResult as_nobody(int port, const std::string& token_file, const std::string& token) {
  int p[2];
  if (pipe(p) != 0) return {};
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    NobodyResult r;
    if (setgroups(0, nullptr) != 0 || setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0) _exit(1);
    r.read_token = !read_token(token_file).empty();
    r.status = raw_http(port, get_request("/api/watches", token)).status;
    if (write(p[1], &r, sizeof r) != sizeof r) _exit(1);
    _exit(0);
  }
  close(p[1]);
  NobodyResult r;
  if (read(p[0], &r, sizeof r) != sizeof r) r.status = -1;
  close(p[0]);
  waitpid(pid, nullptr, 0);
  return r;
}

TEST(DaemonHttpE2E, ApiAnswersOnlyRootWhileMetricsAndHealthStayOpen) {
  if (geteuid() != 0) GTEST_SKIP() << "SKIPPED (e2e): needs root";
  TempDir dir("inotrace-e2e-api");
  // A root-only watch whose path no other user may learn.
  std::string secret = dir.path + "/secret-dir-name";
  ASSERT_EQ(mkdir(secret.c_str(), 0700), 0);
  int ifd = inotify_init1(IN_CLOEXEC);
  ASSERT_GE(inotify_add_watch(ifd, secret.c_str(), IN_CREATE), 0);

  DaemonProcess d(daemon_args(dir));
  ASSERT_TRUE(d.wait_ready(seconds(60))) << d.log();
  std::string token = read_token(dir.path + "/api-token");

  NobodyResult nobody = as_nobody(d.port(), dir.path + "/api-token", "");
  EXPECT_FALSE(nobody.read_token) << "uid 65534 could read the token file";
  EXPECT_TRUE(nobody.status == 401 || nobody.status == 403 || nobody.status == 0)
      << "uid 65534 got HTTP " << nobody.status << " from /api/watches";
  EXPECT_EQ(as_nobody(d.port(), dir.path + "/api-token", "0123456789abcdef").status, 401) << "a guessed token";

  auto root = raw_http(d.port(), get_request("/api/watches?pid=" + std::to_string(getpid()), token));
  ASSERT_EQ(root.status, 200) << root.headers << root.body << d.log();
  EXPECT_NE(root.body.find("secret-dir-name"), std::string::npos) << "root sees the watch: " << root.body;
  EXPECT_EQ(raw_http(d.port(), get_request("/api/watches")).status, 401) << "root without the token";
  for (const char* p : {"/api/leaks", "/api/pods", "/api/users", "/api/processes", "/api/status", "/api/events"})
    EXPECT_EQ(raw_http(d.port(), get_request(p)).status, 401) << p;

  auto metrics = raw_http(d.port(), get_request("/metrics"));
  EXPECT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.body.find("secret-dir-name"), std::string::npos) << "metrics carry no paths";
  EXPECT_EQ(raw_http(d.port(), get_request("/healthz")).status, 200);
  close(ifd);
  EXPECT_EQ(d.stop(), 0) << d.log();
}

// Issue 13: the DaemonSet's two listeners and probes. The scrape listener (--metrics-listen,
// meant for the pod network) serves /metrics, /healthz and /readyz and never the JSON API, not
// even with the token; /readyz turns 200 only once the table is seeded, and until then it and
// everything that reads the table answer 503 "starting" while /healthz answers 200.
TEST(DaemonHttpE2E, MetricsListenerServesProbesAndMetricsButNeverTheApi) {
  if (geteuid() != 0) GTEST_SKIP() << "SKIPPED (e2e): needs root";
  TempDir dir("inotrace-e2e-listeners");
  std::string secret = dir.path + "/secret-dir-name";
  ASSERT_EQ(mkdir(secret.c_str(), 0700), 0);
  int ifd = inotify_init1(IN_CLOEXEC);
  ASSERT_GE(inotify_add_watch(ifd, secret.c_str(), IN_CREATE), 0);

  auto args = daemon_args(dir);
  int scrape_port = free_loopback_port();
  ASSERT_GT(scrape_port, 0) << "no free loopback port";
  args.insert(args.end(), {"--metrics-listen", fmt::format("127.0.0.1:{}", scrape_port)});
  DaemonProcess d(args);
  // From the first answer on: /healthz 200; /readyz 503 "starting: ..." until it is 200.
  std::map<int, int> readyz_seen;
  std::string bad;
  auto until = steady_clock::now() + seconds(60);
  RawReply ready;
  while (steady_clock::now() < until) {
    RawReply r = raw_http(scrape_port, get_request("/readyz"), 500);
    if (r.status == 0) {
      std::this_thread::sleep_for(milliseconds(5));
      continue;
    }
    readyz_seen[r.status]++;
    if (r.status == 503 && !r.body.starts_with("starting: ")) bad += "503 body: " + r.body;
    if (r.status != 200 && r.status != 503) bad += fmt::format("/readyz answered {}; ", r.status);
    if (r.status == 503) {
      auto live = raw_http(scrape_port, get_request("/healthz"), 500);
      if (live.status != 200 && live.status != 0) bad += fmt::format("/healthz {} while starting; ", live.status);
    }
    if (r.status == 200) {
      ready = r;
      break;
    }
  }
  fmt::print("/readyz answers until ready: {} x 503 starting, then 200: {}", readyz_seen[503], ready.body);
  ASSERT_EQ(ready.status, 200) << d.log();
  EXPECT_TRUE(ready.body.starts_with("ready: backend ")) << ready.body;
  EXPECT_EQ(bad, "");
  ASSERT_TRUE(d.wait_ready(seconds(10))) << "the API listener is ready too: " << d.log();
  std::string token = read_token(dir.path + "/api-token");

  auto metrics = raw_http(scrape_port, get_request("/metrics"));
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("inotrace_watches"), std::string::npos) << metrics.body.substr(0, 500);
  // The kernel-side instance table's counters (also in /api/status): present from the start.
  EXPECT_NE(metrics.body.find("\ninotrace_unsequenced_instances_total "), std::string::npos);
  EXPECT_NE(metrics.body.find("\ninotrace_ended_instances_collected_total "), std::string::npos);
  EXPECT_EQ(metrics.body.find("secret-dir-name"), std::string::npos) << "metrics carry no paths";
  EXPECT_EQ(raw_http(scrape_port, get_request("/healthz")).status, 200);
  for (const char* p : {"/api/watches", "/api/leaks", "/api/pods", "/api/users", "/api/processes", "/api/status", "/api/events"}) {
    auto r = raw_http(scrape_port, get_request(p, token));
    EXPECT_EQ(r.status, 404) << p << " on the scrape listener, with the token: " << r.headers << r.body;
    EXPECT_EQ(r.body.find("secret-dir-name"), std::string::npos) << p;
  }
  auto api = raw_http(d.port(), get_request("/api/watches?pid=" + std::to_string(getpid()), token));
  EXPECT_EQ(api.status, 200) << "the API listener serves the API";
  EXPECT_NE(api.body.find("secret-dir-name"), std::string::npos) << api.body;
  close(ifd);
  EXPECT_EQ(d.stop(), 0) << d.log();

  // The scrape listener on the API's own address: a clear error, not a half-started daemon.
  auto clash = daemon_args(dir);
  int clash_port = free_loopback_port();
  clash.insert(clash.end(), {"--metrics-listen", fmt::format("127.0.0.1:{}", clash_port)});
  DaemonProcess c(clash, clash_port);
  EXPECT_NE(c.stop_when_exited(seconds(30)), 0) << c.log();
  EXPECT_NE(c.log().find("cannot listen on 127.0.0.1:"), std::string::npos) << c.log();
}

// `inotrace top --connect` (the HTTP client, util/http_get.cpp) against the daemon: root reads
// the table with the token file; uid 65534 cannot read the token and gets one clear line.
struct CommandResult {
  int status = -1;
  std::string output;
};
CommandResult run_inotrace(const std::vector<std::string>& args, bool as_nobody) {
  char path[] = "/tmp/inotrace-e2e-cmd.XXXXXX";
  int out = mkstemp(path);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out, 1);
    dup2(out, 2);
    if (as_nobody && (setgroups(0, nullptr) != 0 || setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0))
      _exit(126);
    std::vector<std::string> copy = args;
    std::vector<char*> argv{const_cast<char*>(e2e::inotrace_bin())};
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  close(out);
  std::ifstream f(path);
  CommandResult r{WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), std::string(std::istreambuf_iterator<char>(f), {})};
  unlink(path);
  return r;
}

TEST(DaemonHttpE2E, TopConnectShowsTheDaemonsTableToRootOnly) {
  if (geteuid() != 0) GTEST_SKIP() << "SKIPPED (e2e): needs root";
  TempDir dir("inotrace-e2e-top");
  std::string watched = dir.path + "/watched";
  ASSERT_EQ(mkdir(watched.c_str(), 0700), 0);
  int ifd = inotify_init1(IN_CLOEXEC);
  ASSERT_GE(inotify_add_watch(ifd, watched.c_str(), IN_CREATE), 0);
  DaemonProcess d(daemon_args(dir));
  ASSERT_TRUE(d.wait_ready(seconds(60))) << d.log();
  std::string addr = fmt::format("127.0.0.1:{}", d.port());
  std::vector<std::string> top = {"top", "--connect", addr, "--api-token-file", dir.path + "/api-token", "--once", "--no-color"};

  CommandResult root = run_inotrace(top, false);
  EXPECT_EQ(root.status, 0) << root.output;
  EXPECT_NE(root.output.find("inotrace top - backend "), std::string::npos) << root.output;
  EXPECT_NE(root.output.find(" " + std::to_string(getpid()) + " "), std::string::npos) << "our process's row: " << root.output;

  CommandResult nobody = run_inotrace(top, true);
  EXPECT_EQ(nobody.status, 1) << nobody.output;
  EXPECT_NE(nobody.output.find("inotrace: error: cannot read the daemon's API token"), std::string::npos) << nobody.output;

  std::vector<std::string> nowhere = {"top", "--connect", "127.0.0.1:1", "--api-token-file", dir.path + "/api-token", "--once"};
  CommandResult refused = run_inotrace(nowhere, false);
  EXPECT_EQ(refused.status, 1) << refused.output;
  EXPECT_NE(refused.output.find("inotrace: error: cannot reach an inotrace daemon at 127.0.0.1:1"), std::string::npos)
      << refused.output;
  fmt::print("top --connect as root: exit {}, {} bytes; as uid 65534: exit {} ({}); port 1: exit {} ({})\n", root.status,
             root.output.size(), nobody.status, nobody.output.substr(0, nobody.output.find('\n')), refused.status,
             refused.output.substr(0, refused.output.find('\n')));
  close(ifd);
  EXPECT_EQ(d.stop(), 0) << d.log();
}

TEST(DaemonHttpE2E, MethodsPathsAndBadParameters) {
  if (geteuid() != 0) GTEST_SKIP() << "SKIPPED (e2e): needs root";
  TempDir dir("inotrace-e2e-api");
  DaemonProcess d(daemon_args(dir));
  ASSERT_TRUE(d.wait_ready(seconds(60))) << d.log();
  std::string token = read_token(dir.path + "/api-token");

  auto head = raw_http(d.port(), get_request("/healthz", "", "HEAD"));
  EXPECT_EQ(head.status, 200) << head.headers;
  EXPECT_EQ(head.body, "") << "HEAD has no body";
  auto head_api = raw_http(d.port(), get_request("/api/status", token, "HEAD"));
  EXPECT_EQ(head_api.status, 200) << head_api.headers;
  EXPECT_EQ(head_api.body, "");
  for (const char* m : {"POST", "PUT", "DELETE", "PATCH"}) {
    auto r = raw_http(d.port(), get_request("/healthz", token, m));
    EXPECT_EQ(r.status, 405) << m << " " << r.headers;
    EXPECT_EQ(raw_http(d.port(), get_request("/api/watches", token, m)).status, 405) << m;
  }
  EXPECT_EQ(raw_http(d.port(), get_request("/HEALTHZ")).status, 404) << "paths are case-sensitive";
  EXPECT_EQ(raw_http(d.port(), get_request("/Metrics")).status, 404);
  EXPECT_EQ(raw_http(d.port(), get_request("/api/Watches", token)).status, 404);
  EXPECT_EQ(raw_http(d.port(), get_request("/healthz/x")).status, 404);
  for (const char* q : {"pid=-1", "pid=abc", "pid=4294967296", "pid=", "limit=-5", "limit=4294967296", "limit=0",
                        "limit=18446744073709551617", "limit=1x", "limit=%2B5", "cursor=nonsense", "bogus=1"}) {
    auto r = raw_http(d.port(), get_request(std::string("/api/watches?") + q, token));
    EXPECT_EQ(r.status, 400) << q << ": " << r.headers << r.body;
  }
  for (const char* q : {"/api/processes?limit=-5", "/api/events?limit=4294967296", "/api/events?limit=-1"})
    EXPECT_EQ(raw_http(d.port(), get_request(q, token)).status, 400) << q;
  EXPECT_EQ(raw_http(d.port(), get_request("/api/watches?limit=5&pid=1", token)).status, 200);

  // HTTP/1.1 gets the streamed body chunked; it parses whole.
  auto r11 = raw_http(d.port(), "GET /api/watches HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer " +
                                    token + "\r\n\r\n");
  ASSERT_EQ(r11.status, 200) << r11.headers;
  EXPECT_NE(r11.headers.find("Transfer-Encoding: chunked"), std::string::npos) << r11.headers;
  EXPECT_NO_THROW(json::parse(e2e::dechunk(r11.body))) << r11.body.substr(0, 300);
  EXPECT_EQ(d.stop(), 0) << d.log();
}

// Idle sockets (connected, silent) and slow ones (one byte a second, never a whole request),
// kept open for as long as the test runs: any the server closes is opened again at once.
class Attackers {
 public:
  Attackers(int port, int idle, int slow) : port_(port) {
    for (int i = 0; i < idle + slow; i++) conns_.push_back({e2e::connect_loopback(port), i >= idle, 0});
    thread_ = std::thread([this] { run(); });
  }
  ~Attackers() {
    stop_ = true;
    thread_.join();
    for (auto& c : conns_) close(c.fd);
  }
  int reopened() const { return reopened_; }

 private:
  struct Conn {
    int fd;
    bool slow;
    size_t sent;
  };
  void run() {
    static const std::string req = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
    while (!stop_) {
      for (auto& c : conns_) {
        pollfd p{c.fd, POLLIN, 0};
        char b[256];
        bool closed = c.fd < 0 || (poll(&p, 1, 0) > 0 && read(c.fd, b, sizeof b) <= 0);
        if (!closed && c.slow) {
          char ch = c.sent < req.size() ? req[c.sent] : 'x';
          closed = send(c.fd, &ch, 1, MSG_NOSIGNAL) != 1;
          c.sent++;
        }
        if (closed) {
          if (c.fd >= 0) close(c.fd);
          c = {e2e::connect_loopback(port_), c.slow, 0};
          reopened_++;
        }
      }
      for (int i = 0; i < 10 && !stop_; i++) std::this_thread::sleep_for(milliseconds(100));
    }
  }
  int port_;
  std::vector<Conn> conns_;
  std::atomic<bool> stop_{false};
  std::atomic<int> reopened_{0};
  std::thread thread_;
};

struct Latencies {
  std::vector<double> ms;
  int failed = 0;
  double pct(double q) const {
    std::vector<double> s = ms;
    std::sort(s.begin(), s.end());
    return s[std::min(s.size() - 1, (size_t)std::ceil(q * s.size()) - 1)];
  }
  std::string summary(const char* what) const {
    return fmt::format("{}: n={} failed={} p50={:.2f} ms p99={:.2f} ms max={:.2f} ms", what, ms.size(), failed, pct(0.5),
                       pct(0.99), pct(1.0));
  }
};

Latencies measure(int port, const std::string& path, int n) {
  const int kTimeoutMs = 2000;
  Latencies l;
  int consecutive_failures = 0;
  for (int i = 0; i < n; i++) {
    if (consecutive_failures >= 5) {  // the server is down for good: do not wait 2 s per request
      l.ms.push_back(kTimeoutMs);
      l.failed++;
      continue;
    }
    auto t0 = steady_clock::now();
    auto r = raw_http(port, get_request(path), kTimeoutMs);
    double ms = duration<double, std::milli>(steady_clock::now() - t0).count();
    bool ok = r.status == 200;
    l.ms.push_back(ok ? ms : std::max<double>(ms, kTimeoutMs));
    l.failed += !ok;
    consecutive_failures = ok ? 0 : consecutive_failures + 1;
  }
  return l;
}

TEST(DaemonHttpE2E, HealthAndMetricsStayFastUnder64IdleAnd64SlowConnections) {
  if (geteuid() != 0) GTEST_SKIP() << "SKIPPED (e2e): needs root";
  TempDir dir("inotrace-e2e-api");
  DaemonProcess d(daemon_args(dir));
  ASSERT_TRUE(d.wait_ready(seconds(60))) << d.log();
  Latencies quiet = measure(d.port(), "/healthz", 50);

  Attackers attackers(d.port(), 64, 64);
  std::this_thread::sleep_for(seconds(2));  // all accepted, slow ones a few bytes in
  Latencies health = measure(d.port(), "/healthz", 200);
  Latencies metrics = measure(d.port(), "/metrics", 200);
  std::string report = quiet.summary("/healthz, no other connection") + "\n" +
                       health.summary("/healthz, 64 idle + 64 slow connections") + "\n" +
                       metrics.summary("/metrics, 64 idle + 64 slow connections") +
                       fmt::format("\nattacking connections closed by the server and reopened: {}", attackers.reopened());
  fmt::print("{}\n", report);
  RecordProperty("healthz_p99_ms", std::to_string(health.pct(0.99)));
  RecordProperty("metrics_p99_ms", std::to_string(metrics.pct(0.99)));
  EXPECT_EQ(health.failed, 0) << report;
  EXPECT_EQ(metrics.failed, 0) << report;
  EXPECT_LT(health.pct(0.99), 100.0) << report;
  EXPECT_LT(metrics.pct(0.99), 100.0) << report;
  EXPECT_EQ(d.stop(), 0) << d.log();
}

size_t rss_kb(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.starts_with("VmRSS:")) return std::stoul(line.substr(6));
  return 0;
}

// Where a process's resident memory is, for a failure message: smaps_rollup's totals and the six
// mappings (by name; anonymous ones together) that hold the most.
std::string resident_breakdown(pid_t pid) {
  std::ifstream rollup("/proc/" + std::to_string(pid) + "/smaps_rollup");
  std::string line, out;
  while (std::getline(rollup, line))
    if (line.starts_with("Rss:") || line.starts_with("Anonymous:") || line.starts_with("AnonHugePages:") || line.starts_with("Shared_"))
      out += line + "; ";
  std::ifstream smaps("/proc/" + std::to_string(pid) + "/smaps");
  std::map<std::string, size_t> by_name;
  std::string name;
  while (std::getline(smaps, line)) {
    if (!line.empty() && std::isxdigit((unsigned char)line[0]) && line.find('-') < line.find(' ')) {
      std::istringstream fields(line);
      std::string skip;
      for (int i = 0; i < 5; i++) fields >> skip;
      name.clear();  // getline leaves it as it was when nothing follows the inode
      std::getline(fields >> std::ws, name);
      if (name.empty()) name = "[anonymous]";
    } else if (line.starts_with("Rss:")) {
      by_name[name] += std::stoul(line.substr(4));
    }
  }
  std::vector<std::pair<size_t, std::string>> top;
  for (auto& [n, kb] : by_name) top.emplace_back(kb, n);
  std::sort(top.rbegin(), top.rend());
  for (size_t i = 0; i < top.size() && i < 6; i++) out += fmt::format("{} {} kB; ", top[i].second, top[i].first);
  return out;
}

// N processes of uid 65534 (their watches are charged to that user, not to root whose budget
// other tests use), each with its own inotify instance watching the same `dirs` directories.
class WatchHolders {
 public:
  WatchHolders(const std::string& root, int processes, int dirs) {
    chmod(root.c_str(), 0755);
    for (int i = 0; i < dirs; i++) mkdir(fmt::format("{}/d{}", root, i).c_str(), 0755);
    int p[2];
    if (pipe(p) != 0) return;
    for (int n = 0; n < processes; n++) {
      pid_t pid = fork();
      if (pid == 0) {
        close(p[0]);
        bool ok = setgroups(0, nullptr) == 0 && setresgid(65534, 65534, 65534) == 0 && setresuid(65534, 65534, 65534) == 0;
        int fd = ok ? inotify_init1(IN_CLOEXEC) : -1;
        for (int i = 0; ok && i < dirs; i++) ok = inotify_add_watch(fd, fmt::format("{}/d{}", root, i).c_str(), IN_CREATE) >= 0;
        if (write(p[1], ok ? "r" : "f", 1) != 1 || !ok) _exit(1);
        pause();
        _exit(0);
      }
      pids_.push_back(pid);
    }
    close(p[1]);
    char c;
    for (int n = 0; n < processes && read(p[0], &c, 1) == 1; n++) ready_ += c == 'r';
    close(p[0]);
  }
  ~WatchHolders() {
    for (pid_t p : pids_) kill(p, SIGKILL);
    for (pid_t p : pids_) waitpid(p, nullptr, 0);
  }
  int ready() const { return ready_; }

 private:
  std::vector<pid_t> pids_;
  int ready_ = 0;
};

// Pages through /api/watches as documented (follow "next" until null); returns the watches seen.
size_t list_all_watches(int port, const std::string& token, std::string& error) {
  size_t seen = 0;
  std::string target = "/api/watches";
  for (int pages = 0; pages < 100000; pages++) {
    auto r = raw_http(port, get_request(target, token), 60000);
    if (r.status != 200) {
      error = fmt::format("{}: HTTP {} {}", target, r.status, r.error);
      return seen;
    }
    json doc = json::parse(r.body, nullptr, false);
    if (doc.is_discarded()) {
      error = target + ": not JSON";
      return seen;
    }
    seen += doc["watches"].size();
    if (!doc.contains("next") || doc["next"].is_null()) return seen;
    target = "/api/watches?cursor=" + doc["next"].get<std::string>();
  }
  return seen;
}

TEST(DaemonHttpE2E, ConcurrentWatchListingsStreamInBoundedMemory) {
  if (geteuid() != 0) GTEST_SKIP() << "SKIPPED (e2e): needs root";
  // 20 x 1000 watches by default; INOTRACE_E2E_WATCH_HOLDERS=100 gives issue 11's 100k.
  int holders = getenv("INOTRACE_E2E_WATCH_HOLDERS") ? atoi(getenv("INOTRACE_E2E_WATCH_HOLDERS")) : 20;
  const int kDirs = 1000;
  TempDir dir("inotrace-e2e-watches");
  WatchHolders population(dir.path, holders, kDirs);
  ASSERT_EQ(population.ready(), holders) << "could not add " << holders * kDirs << " watches as uid 65534 (fs.inotify.max_user_watches, max_user_instances?)";
  size_t expected = (size_t)holders * kDirs;

  DaemonProcess d(daemon_args(dir));
  ASSERT_TRUE(d.wait_ready(seconds(120))) << d.log();
  std::string token = read_token(dir.path + "/api-token");
  size_t watches = 0;
  auto until = steady_clock::now() + seconds(120);
  while (steady_clock::now() < until) {
    json st = json::parse(raw_http(d.port(), get_request("/api/status", token)).body, nullptr, false);
    if (!st.is_discarded() && st.value("watches", 0u) >= expected) {
      watches = st["watches"];
      break;
    }
    std::this_thread::sleep_for(milliseconds(200));
  }
  ASSERT_GE(watches, expected) << d.log();
  // Every worker thread serves once first: the stack pages a thread touches stay with it, a
  // one-time cost of the pool (~20 KB a thread), not of a request.
  std::vector<std::thread> warm;
  for (int i = 0; i < 64; i++)
    warm.emplace_back([&] {
      for (int j = 0; j < 20; j++) raw_http(d.port(), get_request("/healthz"));
    });
  for (auto& t : warm) t.join();
  std::this_thread::sleep_for(seconds(2));
  size_t before = rss_kb(d.pid());

  // Two rounds of four concurrent full listings: each round's peak says what a request costs,
  // the RSS after the second says whether it comes back (what stays after the first round and
  // not more after the second is the allocator's one-time arenas, not a request's).
  const int kClients = 4;
  std::string report = fmt::format("{} watches; daemon RSS {:.1f} MB before", watches, before / 1024.0);
  size_t after = before;
  double worst_growth_per_request = 0;
  for (int round = 1; round <= 2; round++) {
    std::atomic<bool> done{false};
    std::atomic<size_t> peak{after};
    std::thread sampler([&] {
      while (!done) {
        peak = std::max<size_t>(peak, rss_kb(d.pid()));
        std::this_thread::sleep_for(milliseconds(5));
      }
    });
    std::vector<size_t> seen(kClients);
    std::vector<std::string> errors(kClients);
    std::vector<std::thread> clients;
    auto t0 = steady_clock::now();
    for (int i = 0; i < kClients; i++) clients.emplace_back([&, i] { seen[i] = list_all_watches(d.port(), token, errors[i]); });
    for (auto& t : clients) t.join();
    double secs = duration<double>(steady_clock::now() - t0).count();
    done = true;
    sampler.join();
    std::this_thread::sleep_for(seconds(2));
    size_t round_start = after;
    after = rss_kb(d.pid());
    double growth = ((double)peak - round_start) / 1024.0 / kClients;
    worst_growth_per_request = std::max(worst_growth_per_request, growth);
    report += fmt::format("; round {}: {} concurrent full listings in {:.1f} s, peak {:.1f} MB ({:.1f} MB per request), "
                          "{:.1f} MB 2 s after",
                          round, kClients, secs, peak / 1024.0, growth, after / 1024.0);
    for (int i = 0; i < kClients; i++) {
      EXPECT_EQ(errors[i], "") << report;
      EXPECT_GE(seen[i], expected) << "listing " << i << " missed watches; " << report;
    }
  }
  fmt::print("{}\n", report);
  EXPECT_LT(worst_growth_per_request, 10.0) << "< 10 MB per concurrent request: " << report;
  EXPECT_LT(((double)after - before) / 1024.0, 10.0) << "memory returns after the requests: " << report;
  EXPECT_EQ(d.stop(), 0) << d.log();
}

// Issue 12: a scrape never waits on the daemon's loop. 100k watches, a snapshot check every
// 0.5 s kept from backing off by a process that adds and removes a watch every 5 ms; 200
// scrapes of /metrics, one every 20 ms, over several of those checks.
TEST(DaemonHttpE2E, MetricsAndApiAnswerFastWhileReconciling100kWatches) {
  if (geteuid() != 0) GTEST_SKIP() << "SKIPPED (e2e): needs root";
  const int kHolders = 100, kDirs = 1000;
  TempDir dir("inotrace-e2e-scrape");
  WatchHolders population(dir.path, kHolders, kDirs);
  ASSERT_EQ(population.ready(), kHolders) << "could not add " << kHolders * kDirs << " watches as uid 65534";
  const size_t expected = (size_t)kHolders * kDirs;
  std::string churn_dir = dir.path + "/churn";
  ASSERT_EQ(mkdir(churn_dir.c_str(), 0700), 0);
  pid_t churner = fork();
  if (churner == 0) {
    int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    char drain[4096];
    // A watched directory deleted: on the tracepoint backend no hook sees that removal, so each
    // check finds the table wrong and takes (and reconciles) a full snapshot of 100k watches.
    std::string victim = churn_dir + "/victim";
    for (;;) {
      if (mkdir(victim.c_str(), 0700) == 0) {
        inotify_add_watch(fd, victim.c_str(), IN_CREATE);
        rmdir(victim.c_str());
      }
      while (read(fd, drain, sizeof drain) > 0) {
      }
      usleep(100000);
    }
  }
  struct KillChurner {
    pid_t pid;
    ~KillChurner() {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  } kill_churner{churner};

  auto args = daemon_args(dir);
  args.insert(args.end(), {"--reconcile-interval", "0.5"});
  DaemonProcess d(args);
  ASSERT_TRUE(d.wait_ready(seconds(120))) << d.log();
  std::string token = read_token(dir.path + "/api-token");
  auto status = [&] { return json::parse(raw_http(d.port(), get_request("/api/status", token)).body, nullptr, false); };
  json st;
  auto until = steady_clock::now() + seconds(120);
  for (; steady_clock::now() < until; std::this_thread::sleep_for(milliseconds(200)))
    if (st = status(); !st.is_discarded() && st.value("watches", 0u) >= expected) break;
  ASSERT_GE(st.value("watches", 0u), expected) << st.dump();
  uint64_t checks0 = st.value("reconciles", 0u) + st.value("idle_checks", 0u);

  // Each round: one scrape of /metrics and one read of a published API document.
  const char* api_docs[] = {"/api/status", "/api/leaks", "/api/users", "/api/processes"};
  std::vector<double> ms, api_ms;
  std::string errors;
  auto timed = [&](const std::string& request, std::vector<double>& into) {
    auto t0 = steady_clock::now();
    auto r = raw_http(d.port(), request, 5000);
    into.push_back(duration<double, std::milli>(steady_clock::now() - t0).count());
    return r;
  };
  // 200 rounds, then on until the daemon checked its table 4 times meanwhile (a loaded machine
  // reconciles more slowly; what is asserted is that the API answers fast while it does).
  const bool tracepoint = st.value("backend", "") == "tracepoint";
  auto enough_checks = [&] {
    json now = status();
    if (now.is_discarded()) return false;
    uint64_t c = now.value("reconciles", 0u) + now.value("idle_checks", 0u) - checks0;
    return c >= 4 && (!tracepoint || now.value("reconciles", 0u) >= 4);
  };
  const auto rounds_cap = steady_clock::now() + seconds(60);
  for (int i = 0; i < 200 || (!enough_checks() && steady_clock::now() < rounds_cap); i++) {
    auto r = timed(get_request("/metrics"), ms);
    if (r.status != 200 || r.body.find("inotrace_watches ") == std::string::npos) errors += fmt::format("#{}: {} {}; ", i, r.status, r.error);
    const char* doc = api_docs[i % 4];
    auto a = timed(get_request(doc, token), api_ms);
    if (a.status != 200 || json::parse(a.body, nullptr, false).is_discarded()) errors += fmt::format("#{} {}: {} {}; ", i, doc, a.status, a.error);
    std::this_thread::sleep_for(milliseconds(20));
  }
  st = status();
  uint64_t checks = st.value("reconciles", 0u) + st.value("idle_checks", 0u) - checks0;
  std::sort(ms.begin(), ms.end());
  std::sort(api_ms.begin(), api_ms.end());
  const size_t n = ms.size(), p50 = n / 2, p99 = n - n / 100 - 1;  // 200 rounds: the 3rd-worst
  std::string report = fmt::format("{} watches; {} scrapes of /metrics and {} reads of /api/status|leaks|users|processes "
                                   "during {} snapshot checks ({} full reconciles in all): /metrics p50 {:.2f} ms, p99 {:.2f} ms, "
                                   "max {:.2f} ms; /api/* p50 {:.2f} ms, p99 {:.2f} ms, max {:.2f} ms",
                                   st.value("watches", 0u), n, n, checks, st.value("reconciles", 0u), ms[p50], ms[p99], ms[n - 1],
                                   api_ms[p50], api_ms[p99], api_ms[n - 1]);
  fmt::print("{}\n", report);
  EXPECT_EQ(errors, "");
  EXPECT_GE(checks, 4u) << "the daemon was checking its table meanwhile: " << report;
  if (tracepoint) {
    EXPECT_GE(st.value("reconciles", 0u), 4u) << "full reconciles of 100k watches meanwhile: " << report;
  }
  EXPECT_LT(ms[p99], 50.0) << report;
  EXPECT_LT(api_ms[p99], 50.0) << report;
  EXPECT_EQ(d.stop(), 0) << d.log();
}

// Issue 11 item 9: a daemon with 100k watches, at rest (nothing changes; it only checks that
// nothing did), stays within 40 MB of RSS. What was 139 MB: the snapshot ring buffer mapped
// for good (the kernel maps all 32 MiB twice), glibc keeping each burst's freed memory.
TEST(DaemonHttpE2E, HundredThousandWatchesAtRestStayWithin40MB) {
  if (geteuid() != 0) GTEST_SKIP() << "SKIPPED (e2e): needs root";
  const int kHolders = 100, kDirs = 1000;
  TempDir dir("inotrace-e2e-rest");
  WatchHolders population(dir.path, kHolders, kDirs);
  ASSERT_EQ(population.ready(), kHolders) << "could not add " << kHolders * kDirs << " watches as uid 65534 (fs.inotify.max_user_watches, max_user_instances?)";
  const size_t expected = (size_t)kHolders * kDirs;

  DaemonProcess d(daemon_args(dir));
  ASSERT_TRUE(d.wait_ready(seconds(120))) << d.log();
  std::string token = read_token(dir.path + "/api-token");
  // At rest = the table holds every watch and three idle checks in a row found it exact.
  auto status = [&] { return json::parse(raw_http(d.port(), get_request("/api/status", token)).body, nullptr, false); };
  uint64_t checks_at_full = 0;
  json st;
  auto until = steady_clock::now() + seconds(120);
  for (; steady_clock::now() < until; std::this_thread::sleep_for(milliseconds(200))) {
    st = status();
    if (st.is_discarded() || st.value("watches", 0u) < expected) continue;
    if (!checks_at_full) checks_at_full = st.value("idle_checks", 0u) + 1;
    if (st.value("idle_checks", 0u) >= checks_at_full + 3) break;
  }
  ASSERT_GE(st.value("idle_checks", 0u), checks_at_full + 3) << st.dump() << d.log();
  size_t rss = rss_kb(d.pid());
  auto cpu_ticks = [&] {
    std::ifstream f("/proc/" + std::to_string(d.pid()) + "/stat");
    std::string s((std::istreambuf_iterator<char>(f)), {});
    std::istringstream rest(s.substr(s.rfind(')') + 2));
    std::string field;
    uint64_t utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; i++) {
      if (i == 14) utime = std::stoull(field);
      if (i == 15) stime = std::stoull(field);
    }
    return utime + stime;
  };
  uint64_t t0 = cpu_ticks();
  std::this_thread::sleep_for(seconds(10));
  double cpu_pct = 100.0 * (cpu_ticks() - t0) / sysconf(_SC_CLK_TCK) / 10.0;
  size_t rss_after = rss_kb(d.pid());
  std::string report = fmt::format("{} watches in {} instances at rest: RSS {:.1f} MB, {:.1f} MB 10 s later; CPU {:.1f} % of a core "
                                   "over those 10 s (target 2 %; reported, not asserted: CPU time is no test gate)",
                                   st.value("watches", 0u), st.value("instances", 0u), rss / 1024.0, rss_after / 1024.0, cpu_pct);
  std::string resident = resident_breakdown(d.pid());
  fmt::print("{}\nresident: {}\n", report, resident);
  EXPECT_LE(std::max(rss, rss_after), 40u * 1024) << report << "\nresident: " << resident;
  EXPECT_EQ(d.stop(), 0) << d.log();
}

}  // namespace
}  // namespace inotrace

namespace inotrace {
namespace {

// Issue 14: /api/pods rolls the table up per pod. A watcher moved into a cgroup shaped as
// kubelet's cgroupfs driver makes it (in a private subtree, so no other test's kubepods
// detection sees it): its pod is known by uid and QoS, its container by id, in /api/pods and on
// its rows of /api/watches.
TEST(DaemonHttpE2E, PodsRollUpAHolderInAKubeletCgroup) {
  if (geteuid() != 0) GTEST_SKIP() << "SKIPPED (e2e): needs root";
  std::string base = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/memory";
  if (access((base + "/cgroup.procs").c_str(), F_OK) != 0)
    GTEST_SKIP() << "SKIPPED: DaemonHttpE2E.PodsRollUpAHolderInAKubeletCgroup: no cgroup v2 or v1 memory hierarchy";
  const std::string uid = "5b4a2c1e-8f3d-4e6a-9b7c-0d1e2f3a4b5c";
  const std::string id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  const std::string top = fmt::format("{}/inotrace-e2e-{}", base, getpid());
  std::vector<std::string> dirs = {top, top + "/kubepods", top + "/kubepods/burstable",
                                   top + "/kubepods/burstable/pod" + uid, top + "/kubepods/burstable/pod" + uid + "/" + id};
  for (const auto& d : dirs) ASSERT_TRUE(mkdir(d.c_str(), 0755) == 0 || errno == EEXIST) << d;
  struct RemoveCgroups {
    std::vector<std::string> dirs;
    ~RemoveCgroups() {
      for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) rmdir(it->c_str());
    }
  } remove_cgroups{dirs};
  TempDir dir("inotrace-e2e-pods");
  // A process in the pod's cgroup holding `n` watches (w0..), until killed.
  struct PodWatcher {
    pid_t pid = -1;
    PodWatcher(const std::string& cgroup, const std::string& dir, int first, int n) {
      int ready[2];
      if (pipe(ready) != 0) return;
      pid = fork();
      if (pid == 0) {
        FILE* f = fopen((cgroup + "/cgroup.procs").c_str(), "w");
        if (!f || fprintf(f, "%d\n", getpid()) < 0 || fclose(f) != 0) _exit(1);
        int fd = inotify_init1(0);
        for (int i = first; i < first + n; i++) {
          std::string d = fmt::format("{}/w{}", dir, i);
          mkdir(d.c_str(), 0700);
          if (inotify_add_watch(fd, d.c_str(), IN_CREATE) < 0) _exit(1);
        }
        char x = 'x';
        if (write(ready[1], &x, 1) != 1) _exit(1);
        pause();
        _exit(0);
      }
      close(ready[1]);
      char x;
      if (read(ready[0], &x, 1) != 1) pid = -pid;  // failed: it exited without a word
      close(ready[0]);
    }
    ~PodWatcher() {
      kill(pid > 0 ? pid : -pid, SIGKILL);
      waitpid(pid > 0 ? pid : -pid, nullptr, 0);
    }
  };
  PodWatcher before_seed(dirs.back(), dir.path, 0, 3);
  ASSERT_GT(before_seed.pid, 0) << "the watcher could not join its cgroup or add its watches";
  pid_t watcher = before_seed.pid;

  DaemonProcess d(daemon_args(dir));
  ASSERT_TRUE(d.wait_ready(seconds(60))) << d.log();
  // One that starts after the seed: the table learns it from its events, pod included.
  PodWatcher after_seed(dirs.back(), dir.path, 3, 2);
  ASSERT_GT(after_seed.pid, 0);
  std::string token = read_token(dir.path + "/api-token");
  json pods;
  auto until = steady_clock::now() + seconds(20);
  for (; steady_clock::now() < until; std::this_thread::sleep_for(milliseconds(200))) {
    pods = json::parse(raw_http(d.port(), get_request("/api/pods", token)).body, nullptr, false);
    if (!pods.is_discarded() && pods.contains("pods") && !pods["pods"].empty() && pods["pods"][0]["watches"] == 5) break;
  }
  fmt::print("/api/pods: {}\n", pods.dump());
  ASSERT_FALSE(pods.is_discarded());
  ASSERT_EQ(pods["pods"].size(), 1u) << pods.dump();
  const json& p = pods["pods"][0];
  EXPECT_EQ(p["pod"]["uid"], uid);
  EXPECT_EQ(p["pod"]["qos"], "burstable");
  EXPECT_EQ(p["containers"], json::array({id}));
  EXPECT_EQ(p["processes"], 2);
  EXPECT_EQ(p["instances"], 2);
  EXPECT_EQ(p["watches"], 5) << "3 seen by the seeding snapshot, 2 by events after it";
  for (auto [pid, n] : {std::pair{watcher, 3u}, std::pair{after_seed.pid, 2u}}) {
    auto w = json::parse(raw_http(d.port(), get_request("/api/watches?pid=" + std::to_string(pid), token)).body, nullptr, false);
    ASSERT_FALSE(w.is_discarded());
    ASSERT_EQ(w["watches"].size(), n) << w.dump();
    EXPECT_EQ(w["watches"][0]["pod"]["uid"], uid) << w.dump();
    EXPECT_EQ(w["watches"][0]["container"]["id"], id);
  }
  EXPECT_EQ(d.stop(), 0) << d.log();
}

}  // namespace
}  // namespace inotrace

namespace inotrace {
namespace {

// Issue 14: per-pod series stay bounded. 200 processes, each the only process of its own pod
// (kubelet-shaped cgroups in a private subtree), hold 1..5 watches: /metrics has --metrics-top
// (here 20) pods of their own plus one pod="other", and the series sum to every pod's watches.
TEST(DaemonHttpE2E, PodMetricsStayBoundedWith200Pods) {
  if (geteuid() != 0) GTEST_SKIP() << "SKIPPED (e2e): needs root";
  std::string base = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/memory";
  if (access((base + "/cgroup.procs").c_str(), F_OK) != 0)
    GTEST_SKIP() << "SKIPPED: DaemonHttpE2E.PodMetricsStayBoundedWith200Pods: no cgroup v2 or v1 memory hierarchy";
  const int kPods = 200;
  const std::string top = fmt::format("{}/inotrace-e2e-pods-{}", base, getpid());
  std::vector<std::string> dirs = {top, top + "/kubepods", top + "/kubepods/besteffort"};
  for (int i = 0; i < kPods; i++) {
    std::string pod = fmt::format("{}/kubepods/besteffort/pod00000000-0000-0000-0000-{:012d}", top, i);
    dirs.push_back(pod);
    dirs.push_back(fmt::format("{}/{:064x}", pod, i + 1));
  }
  struct RemoveCgroups {
    std::vector<std::string> dirs;
    ~RemoveCgroups() {
      for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) rmdir(it->c_str());
    }
  } remove_cgroups{dirs};
  for (const auto& d : dirs) ASSERT_TRUE(mkdir(d.c_str(), 0755) == 0 || errno == EEXIST) << d;
  // 200 instances of root's: more than the default max_user_instances (128); restored after.
  struct InstanceLimit {
    long before = read_long_file("/proc/sys/fs/inotify/max_user_instances").value_or(-1);
    ~InstanceLimit() {
      if (before > 0) write_long_file("/proc/sys/fs/inotify/max_user_instances", before, nullptr);
    }
  } limit;
  ASSERT_GT(limit.before, 0);
  ASSERT_TRUE(write_long_file("/proc/sys/fs/inotify/max_user_instances", limit.before + 1024, nullptr));
  TempDir dir("inotrace-e2e-podmetrics");
  for (int k = 0; k < 5; k++) ASSERT_EQ(mkdir(fmt::format("{}/w{}", dir.path, k).c_str(), 0700), 0);
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  std::vector<pid_t> children;
  struct KillAll {
    std::vector<pid_t>& pids;
    ~KillAll() {
      for (pid_t p : pids) kill(p, SIGKILL);
      for (pid_t p : pids) waitpid(p, nullptr, 0);
    }
  } kill_all{children};
  size_t expected_watches = 0;
  for (int i = 0; i < kPods; i++) {
    int n = i % 5 + 1;
    expected_watches += n;
    pid_t c = fork();
    if (c == 0) {
      std::string procs = fmt::format("{}/cgroup.procs", dirs[3 + 2 * i + 1]);
      // One byte each, 'x' or 'f': the parent never waits on a child that failed.
      auto report = [&](char c) { return write(ready[1], &c, 1) == 1; };
      FILE* f = fopen(procs.c_str(), "w");
      if (!f || fprintf(f, "%d\n", getpid()) < 0 || fclose(f) != 0) _exit(report('f') ? 1 : 1);
      int fd = inotify_init1(0);
      for (int k = 0; k < n; k++)
        if (inotify_add_watch(fd, fmt::format("{}/w{}", dir.path, k).c_str(), IN_CREATE) < 0) _exit(report('f') ? 1 : 1);
      if (!report('x')) _exit(1);
      pause();
      _exit(0);
    }
    children.push_back(c);
  }
  close(ready[1]);
  for (int i = 0; i < kPods; i++) {
    char x = 0;
    ASSERT_EQ(read(ready[0], &x, 1), 1);
    ASSERT_EQ(x, 'x') << "a pod process could not join its cgroup or add its watches";
  }
  auto args = daemon_args(dir);
  args.insert(args.end(), {"--metrics-top", "20"});
  DaemonProcess d(args);
  ASSERT_TRUE(d.wait_ready(seconds(60))) << d.log();
  size_t series = 0, other = 0;
  double sum = 0;
  std::string page;
  auto until = steady_clock::now() + seconds(20);
  for (; steady_clock::now() < until; std::this_thread::sleep_for(milliseconds(300))) {
    page = raw_http(d.port(), get_request("/metrics")).body;
    series = other = 0;
    sum = 0;
    std::istringstream lines(page);
    for (std::string line; std::getline(lines, line);) {
      if (!line.starts_with("inotrace_pod_watches{")) continue;
      series++;
      if (line.find("pod=\"other\"") != std::string::npos) other++;
      sum += std::stod(line.substr(line.rfind(' ') + 1));
    }
    if (sum >= expected_watches) break;
  }
  fmt::print("{} pods holding {} watches: {} inotrace_pod_watches series ({} of them pod=\"other\"), summing to {}\n",
             kPods, expected_watches, series, other, sum);
  EXPECT_EQ(series, 21u) << "20 pods of their own and one 'other'";
  EXPECT_EQ(other, 1u);
  EXPECT_EQ(sum, (double)expected_watches);
  EXPECT_EQ(d.stop(), 0) << d.log();
}

}  // namespace
}  // namespace inotrace
