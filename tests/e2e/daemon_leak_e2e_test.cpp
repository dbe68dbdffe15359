// e2e: the kubelet watch leak (DESIGN.md §7) reproduced on the real kernel and judged through
// the daemon's HTTP API, with the real `inotrace daemon` binary ($INOTRACE_BIN).
//   pod A: the containerized mounter forgets its copy          -> leaked, pinned at the mounter's path
//   pod B: another mount namespace holds a bind elsewhere      -> leaked, pinned from that namespace
//   pod C: every mount unmounted before deletion               -> watches end (unmount), not flagged
//   pod D: alive                                               -> not flagged
// Watchers of A and C start before the daemon (seeded by its snapshot), of B and D after.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "repro/pod_scenario.h"
#include "util/http_get.h"

namespace inotrace {
namespace {

using json = nlohmann::json;
using namespace std::chrono;
using repro::Pinning;

uint64_t ns_inode(pid_t pid) {
  struct stat st{};
  return stat(("/proc/" + std::to_string(pid) + "/ns/mnt").c_str(), &st) == 0 ? st.st_ino : 0;
}

class Daemon {
 public:
  Daemon(const std::string& bin, const std::string& pods_root) {
    listen_ = "127.0.0.1:" + std::to_string(20000 + getpid() % 20000);
    log_ = "/tmp/inotrace-e2e-daemon." + std::to_string(getpid()) + ".log";
    pid_ = fork();
    if (pid_ == 0) {
      int fd = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 2);
      dup2(fd, 1);
      execl(bin.c_str(), bin.c_str(), "daemon", "--listen", listen_.c_str(), "--pods-root", pods_root.c_str(),
            "--kubepods-cgroup", "none", (char*)nullptr);
      _exit(127);
    }
  }
  ~Daemon() { stop(); }
  bool wait_ready(seconds timeout) {
    auto until = steady_clock::now() + timeout;
    while (steady_clock::now() < until) {
      try {
        if (http_get(listen_, "/healthz", 500) == "ok\n") return true;
      } catch (...) {
      }
      std::this_thread::sleep_for(milliseconds(100));
    }
    return false;
  }
  json get(const std::string& path) { return json::parse(http_get(listen_, path)); }
  int stop() {
    if (pid_ <= 0) return status_;
    kill(pid_, SIGTERM);
    int st = 0;
    waitpid(pid_, &st, 0);
    pid_ = -1;
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return status_;
  }
  std::string log() const {
    std::ifstream f(log_);
    return std::string(std::istreambuf_iterator<char>(f), {});
  }

 private:
  pid_t pid_ = -1;
  int status_ = -1;
  std::string listen_, log_;
};

std::vector<json> leaks_of(const json& doc, const std::string& uid) {
  std::vector<json> out;
  for (const auto& l : doc["leaks"])
    if (l["pod_uid"] == uid) out.push_back(l);
  return out;
}

TEST(DaemonE2E, KubeletLeakIsFlaggedWithWhatPinsIt) {
  if (geteuid() != 0) GTEST_SKIP() << "SKIPPED (e2e): needs root";
  const char* bin = getenv("INOTRACE_BIN") ? getenv("INOTRACE_BIN") : INOTRACE_BIN_DEFAULT;

  repro::ScratchRoot root;
  repro::PodScenario sc(root);
  auto a = sc.create_pod({"", Pinning::MounterSameNamespace});
  auto c = sc.create_pod({"", Pinning::None});
  auto wa = sc.start_watcher(repro::PodScenario::default_watch_paths(a));
  auto wc = sc.start_watcher(repro::PodScenario::default_watch_paths(c));

  Daemon d(bin, sc.pods_root());
  ASSERT_TRUE(d.wait_ready(seconds(60))) << d.log();

  auto b = sc.create_pod({"", Pinning::OtherNamespace});
  auto live = sc.create_pod({"", Pinning::None});
  auto wb = sc.start_watcher(repro::PodScenario::default_watch_paths(b));
  auto wd_live = sc.start_watcher(repro::PodScenario::default_watch_paths(live));

  // The daemon knows every watcher's watches (A, C from its snapshot; B, live from events).
  auto known = [&](pid_t pid, size_t n) {
    return d.get("/api/watches?pid=" + std::to_string(pid))["watches"].size() == n;
  };
  auto until = steady_clock::now() + seconds(10);
  while (steady_clock::now() < until && !(known(wa.pid(), 3) && known(wb.pid(), 3) && known(wc.pid(), 3) && known(wd_live.pid(), 3)))
    std::this_thread::sleep_for(milliseconds(100));
  ASSERT_TRUE(known(wa.pid(), 3) && known(wb.pid(), 3)) << d.get("/api/watches").dump();
  EXPECT_TRUE(d.get("/api/leaks")["leaks"].empty()) << "nothing is leaked before any deletion";

  auto t0 = steady_clock::now();
  sc.delete_pod(a);
  sc.delete_pod(b);
  sc.delete_pod(c);

  json doc;
  until = t0 + seconds(5);
  while (steady_clock::now() < until) {
    doc = d.get("/api/leaks");
    if (leaks_of(doc, a.uid).size() == 2 && leaks_of(doc, b.uid).size() == 2) break;
    std::this_thread::sleep_for(milliseconds(50));
  }
  double flagged_after = duration<double>(steady_clock::now() - t0).count();
  RecordProperty("flagged_after_s", std::to_string(flagged_after));
  ASSERT_EQ(leaks_of(doc, a.uid).size(), 2u) << doc.dump(2);
  ASSERT_EQ(leaks_of(doc, b.uid).size(), 2u) << doc.dump(2);
  EXPECT_LE(flagged_after, 2.0) << "a leak must be flagged within 2 s of its pod directory's deletion";

  for (const auto& l : leaks_of(doc, a.uid)) {
    EXPECT_EQ(l["reason"], "pod_deleted");
    EXPECT_EQ(l["pid"], wa.pid());
    for (const char* k : {"comm", "instance", "wd", "dev", "ino", "path", "since", "pinned_by"}) EXPECT_TRUE(l.contains(k)) << k;
    bool pinned_by_mounter = false;
    for (const auto& p : l["pinned_by"])
      if (p["mount_point"] == a.mounter_volume && p["mnt_ns"] == ns_inode(getpid())) pinned_by_mounter = true;
    EXPECT_TRUE(pinned_by_mounter) << l.dump(2);
  }
  for (const auto& l : leaks_of(doc, b.uid)) {
    EXPECT_EQ(l["pid"], wb.pid());
    ASSERT_EQ(l["pinned_by"].size(), 1u) << l.dump(2);
    EXPECT_EQ(l["pinned_by"][0]["mnt_ns"], ns_inode(b.other_ns_pid)) << "pinned from the other namespace";
    EXPECT_EQ(l["pinned_by"][0]["mount_point"], b.other_ns_mount);
  }
  EXPECT_TRUE(leaks_of(doc, c.uid).empty()) << "cleanly deleted pod flagged";
  EXPECT_TRUE(leaks_of(doc, live.uid).empty()) << "live pod flagged";

  // Pod C's tmpfs watches ended with the unmount (its configmap dir's with the rmdir).
  std::map<std::string, int> reasons;
  until = steady_clock::now() + seconds(5);
  while (steady_clock::now() < until) {
    reasons.clear();
    json events = d.get("/api/events");  // (a temporary's member would dangle in the range-for)
    for (const auto& e : events["events"])
      if (e["event"] == "remove" && e["pid"] == wc.pid()) reasons[e["reason"]]++;
    if (reasons["unmount"] == 2 && reasons["inode_deleted"] == 1) break;
    std::this_thread::sleep_for(milliseconds(100));
  }
  std::string removes;
  json events = d.get("/api/events");
  for (const auto& e : events["events"])
    if (e["event"] == "remove") removes += e.dump() + "\n";
  EXPECT_EQ(reasons["unmount"], 2) << "volume root and token of the cleanly deleted pod (watcher " << wc.pid()
                                   << "); removals seen:\n" << removes;
  EXPECT_EQ(reasons["inode_deleted"], 1) << "its configmap dir";

  auto metrics = http_get("127.0.0.1:" + std::to_string(20000 + getpid() % 20000), "/metrics");
  EXPECT_NE(metrics.find("inotrace_leaked_watches{reason=\"pod_deleted\"} 4"), std::string::npos) << metrics;
  EXPECT_EQ(d.stop(), 0) << d.log();
}

}  // namespace
}  // namespace inotrace
