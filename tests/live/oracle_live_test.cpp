// Differential oracle: after a randomised workload of inotify operations across several
// processes, the live watch table must equal the kernel's truth read from /proc fdinfo —
// the same multiset of instances, each with the same (wd, ino, dev, mask) set.
//
// Operations: init, add, update (IN_MASK_ADD and replace), rm_watch, rmdir and unlink of
// targets, umount of tmpfs mounts, close, process exit, fork (children share every fd of the
// parent), IN_ONESHOT firing. On fentry/kprobe the table is kept by events alone (no
// reconciliation) — proving the hooks exact; on the tracepoint backend reconciliation is part
// of the design and the comparison is made after two reconcile intervals.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "snapshot/procfs_source.h"
#include "support/live_support.h"

namespace inotrace::testing {
namespace {

constexpr int kOperations = 2400;
// Under qemu TCG a snapshot takes a good fraction of a second: reconciling more often would
// starve the workload.
constexpr double kReconcileInterval = 2.0;

// A worker process, forked from the test process (so it shares every fd the test had open),
// executing commands sent through a pipe.
struct Cmd {
  int op;
  int fd;
  int wd;
  uint32_t mask;
  char path[240];
};
enum Op { kInit = 1, kAdd, kRm, kClose, kExit, kTouch };

int run_cmd(const Cmd& c) {
  switch (c.op) {
    case kInit: return inotify_init1(0);
    case kAdd: {
      int wd = inotify_add_watch(c.fd, c.path, c.mask);
      return wd < 0 ? -errno : wd;
    }
    case kRm: return inotify_rm_watch(c.fd, c.wd) < 0 ? -errno : 0;
    case kClose: return close(c.fd);
    case kTouch: {
      int fd = open(c.path, O_WRONLY | O_APPEND);
      if (fd < 0) return -errno;
      int r = write(fd, "x", 1);
      close(fd);
      return r;
    }
  }
  return -EINVAL;
}

struct Actor {
  pid_t pid = 0;       // 0: the test process itself
  int cmd = -1, reply = -1;
  std::vector<int> fds;                // inotify fds this actor holds
  std::map<int, std::vector<int>> wds; // per fd
  bool alive = true;

  int exec(const Cmd& c) {
    if (!pid) return run_cmd(c);
    if (write(cmd, &c, sizeof(c)) != sizeof(c)) return -EPIPE;
    int r = -EPIPE;
    if (read(reply, &r, sizeof(r)) != sizeof(r)) return -EPIPE;
    return r;
  }
};

Actor fork_worker(const Actor& parent) {
  int to[2], from[2];
  if (pipe(to) || pipe(from)) abort();
  Actor a;
  a.fds = parent.fds;
  a.wds = parent.wds;
  a.pid = fork();
  if (a.pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    close(to[1]);
    close(from[0]);
    Cmd c;
    while (read(to[0], &c, sizeof(c)) == sizeof(c)) {
      if (c.op == kExit) _exit(0);
      int r = run_cmd(c);
      if (write(from[1], &r, sizeof(r)) != sizeof(r)) _exit(1);
    }
    _exit(0);
  }
  close(to[0]);
  close(from[1]);
  a.cmd = to[1];
  a.reply = from[0];
  return a;
}

using WatchSet = std::vector<std::tuple<int32_t, uint64_t, uint32_t, uint32_t>>;  // wd, ino, dev, mask

std::multiset<WatchSet> truth_of(const std::set<uint32_t>& pids) {
  ProcfsSourceOptions o;
  o.with_paths = false;
  Snapshot s = take_procfs_snapshot(o);
  std::multiset<WatchSet> out;
  for (const auto& inst : s.instances) {
    if (std::none_of(inst.holders.begin(), inst.holders.end(), [&](const Holder& h) { return pids.count(h.pid); }))
      continue;
    WatchSet ws;
    for (const auto& w : inst.watches) ws.emplace_back(w.wd, w.ino, w.dev.raw, w.mask);
    std::sort(ws.begin(), ws.end());
    out.insert(ws);
  }
  return out;
}

std::multiset<WatchSet> table_of(const WatchTable& t, const std::set<uint32_t>& pids) {
  std::multiset<WatchSet> out;
  for (const auto& [g, inst] : t.instances()) {
    if (std::none_of(inst.holders.begin(), inst.holders.end(), [&](const Holder& h) { return pids.count(h.pid); }))
      continue;
    WatchSet ws;
    for (const auto& [wd, w] : inst.watches) ws.emplace_back(wd, w.ino(), w.dev, w.mask);
    std::sort(ws.begin(), ws.end());
    out.insert(ws);
  }
  return out;
}

std::string describe(const std::multiset<WatchSet>& a, const std::multiset<WatchSet>& b) {
  std::vector<WatchSet> only_a, only_b;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(only_a));
  std::set_difference(b.begin(), b.end(), a.begin(), a.end(), std::back_inserter(only_b));
  std::string s;
  auto dump = [&](const char* what, const std::vector<WatchSet>& v) {
    for (const auto& ws : v) {
      s += std::string(what) + " instance with " + std::to_string(ws.size()) + " watches:";
      for (const auto& [wd, ino, dev, mask] : ws) s += " wd" + std::to_string(wd) + "/" + std::to_string(ino) + "/" + std::to_string(mask);
      s += "\n";
    }
  };
  dump("only in truth:", only_a);
  dump("only in table:", only_b);
  return s;
}

TEST(OracleLive, TableEqualsFdinfoTruthAfterRandomWorkload) {
  INOTRACE_REQUIRE_ROOT();
  TempDir dir("inotrace-oracle");
  SysctlGuard watches("/proc/sys/fs/inotify/max_user_watches", 1 << 20);
  SysctlGuard instances("/proc/sys/fs/inotify/max_user_instances", 4096);

  // Targets: plain dirs and files, and three small tmpfs mounts that get unmounted.
  std::vector<std::string> mounts;
  auto populate = [&](const std::string& base) {
    for (int i = 0; i < 6; i++) {
      mkdir((base + "/d" + std::to_string(i)).c_str(), 0755);
      std::ofstream(base + "/f" + std::to_string(i)) << "x";
    }
  };
  for (int m = 0; m < 3; m++) {
    std::string p = dir.mkdir("mnt" + std::to_string(m));
    ASSERT_EQ(mount("oracle", p.c_str(), "tmpfs", 0, "size=1m"), 0);
    populate(p);
    mounts.push_back(p);
  }
  populate(dir.path());
  std::vector<std::string> bases = mounts;
  bases.push_back(dir.path());

  SessionOptions so;
  so.tracer = test_tracer_options();
  so.reconcile_interval_s = kReconcileInterval;  // only used on the tracepoint backend
  TraceSession session(so, [](const std::string&) {});
  std::atomic<bool> stop{false}, settling{false};
  // 1 + the session's checks (full reconciles and digest checks) so far, published by the pump
  // once the workload ended (0: not yet): read without taking the session from it.
  std::atomic<uint64_t> checks_done{0};
  std::thread pump([&] {
    while (!stop) {
      session.poll(20, [](const Event&) {});
      if (settling.load(std::memory_order_acquire)) {
        SessionCounters c = session.counters();
        checks_done.store(1 + c.reconciles + c.digest_checks, std::memory_order_release);
      }
    }
  });

  std::mt19937 rng(20261127);
  auto pick = [&](size_t n) { return (size_t)(rng() % n); };
  std::vector<Actor> actors(1);  // [0] is the test process
  std::set<uint32_t> pids = {(uint32_t)getpid()};
  std::map<std::string, int> done;
  Cmd c{};
  auto done_total = [&] {
    int n = 0;
    for (const auto& [k, v] : done) n += v;
    return n;
  };
  for (int i = 0; done_total() < kOperations && i < 50 * kOperations; i++) {
    Actor& a = actors[pick(actors.size())];
    if (!a.alive) continue;
    int r = pick(100);
    std::string base = bases[pick(bases.size())];
    std::string target = base + (pick(2) ? "/d" : "/f") + std::to_string(pick(6));
    c = Cmd{};
    if (a.fds.empty() || r < 8) {
      c.op = kInit;
      int fd = a.exec(c);
      if (fd >= 0) a.fds.push_back(fd), done["init"]++;
    } else if (r < 55) {
      c.op = kAdd;
      c.fd = a.fds[pick(a.fds.size())];
      uint32_t masks[] = {IN_CREATE, IN_MODIFY | IN_ATTRIB, IN_ALL_EVENTS, IN_MODIFY | IN_ONESHOT,
                          IN_DELETE_SELF | IN_MASK_ADD, IN_ATTRIB | IN_EXCL_UNLINK};
      c.mask = masks[pick(6)];
      snprintf(c.path, sizeof(c.path), "%s", target.c_str());
      int wd = a.exec(c);
      if (wd > 0) a.wds[c.fd].push_back(wd);
      done[wd > 0 ? (c.mask & IN_MASK_ADD ? "add_or_update" : "add") : "add_failed"]++;
    } else if (r < 63) {
      int fd = a.fds[pick(a.fds.size())];
      if (a.wds[fd].empty()) continue;
      c = Cmd{kRm, fd, a.wds[fd][pick(a.wds[fd].size())], 0, {}};
      done[a.exec(c) == 0 ? "rm_watch" : "rm_watch_failed"]++;
    } else if (r < 70) {
      c.op = kTouch;  // fires IN_MODIFY: ends one-shot watches on it
      snprintf(c.path, sizeof(c.path), "%s", (base + "/f" + std::to_string(pick(6))).c_str());
      if (a.exec(c) >= 0) done["oneshot_trigger"]++;
    } else if (r < 75) {
      // rmdir / unlink a target (then recreate it: a new inode at the same path)
      std::string d = base + "/d" + std::to_string(pick(6)), f = base + "/f" + std::to_string(pick(6));
      if (rmdir(d.c_str()) == 0) done["rmdir"]++;
      mkdir(d.c_str(), 0755);
      if (unlink(f.c_str()) == 0) done["unlink"]++;
      std::ofstream(f) << "x";
    } else if (r < 76) {
      std::string m = mounts[pick(mounts.size())];
      if (umount(m.c_str()) == 0) {
        done["umount"]++;
        ASSERT_EQ(mount("oracle", m.c_str(), "tmpfs", 0, "size=1m"), 0);
        populate(m);
      }
    } else if (r < 79) {
      int idx = pick(a.fds.size());
      c = Cmd{kClose, a.fds[idx], 0, 0, {}};
      a.exec(c);
      a.wds.erase(a.fds[idx]);
      a.fds.erase(a.fds.begin() + idx);
      done["close"]++;
    } else if (r < 84 && actors.size() < 12 && a.pid == 0) {
      actors.push_back(fork_worker(actors[0]));  // shares every fd of the test process
      pids.insert(actors.back().pid);
      done["fork_shared"]++;
    } else if (r < 86 && a.pid != 0) {
      c.op = kExit;
      (void)!write(a.cmd, &c, sizeof(c));
      waitpid(a.pid, nullptr, 0);
      close(a.cmd);
      close(a.reply);
      a.alive = false;
      done["exit"]++;
    }
  }
  std::string summary;
  int total = 0;
  for (const auto& [k, n] : done) summary += k + "=" + std::to_string(n) + " ", total += n;
  RecordProperty("operations", total);
  std::cout << "oracle: " << total << " operations: " << summary << "\n";
  EXPECT_GE(total, 2000);

  // Settle: hooked backends are exact once the ring buffer is drained; the tracepoint backend
  // needs its reconciliation: the pump runs on until a periodic check that began after the
  // workload ended has run (one running in the pump's poll now may have begun before it),
  // however slow the machine.
  bool hooked = session.backend() != Backend::Tracepoint;
  if (hooked) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  } else {
    settling.store(true, std::memory_order_release);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    auto checks = [&] { return checks_done.load(std::memory_order_acquire); };
    while (checks() == 0 && std::chrono::steady_clock::now() < until)  // the first publication
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const uint64_t before = checks();
    while (checks() < before + 2 && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_GE(checks(), before + 2) << "no periodic reconcile after the workload within 60 s";
  }
  stop = true;
  pump.join();
  session.drain([](const Event&) {});
  auto truth = truth_of(pids);
  auto table = table_of(session.table(), pids);
  size_t truth_watches = 0;
  for (const auto& ws : truth) truth_watches += ws.size();
  std::cout << "oracle: backend " << backend_name(session.backend()) << ": truth " << truth.size() << " instances, "
            << truth_watches << " watches; mismatches " << (truth == table ? 0 : 1) << "\n";
  EXPECT_GT(truth_watches, 20u) << "the workload must leave watches to compare";
  EXPECT_EQ(truth.size(), table.size());
  EXPECT_TRUE(truth == table) << describe(truth, table);
  if (hooked) EXPECT_EQ(session.counters().reconciles, 0u) << "hooked backends were judged on events alone";

  for (auto& a : actors)
    if (a.pid && a.alive) {
      Cmd x{kExit, 0, 0, 0, {}};
      (void)!write(a.cmd, &x, sizeof(x));
      waitpid(a.pid, nullptr, 0);
    }
  for (int fd : actors[0].fds) close(fd);
  for (const auto& m : mounts) umount2(m.c_str(), MNT_DETACH);
}

}  // namespace
}  // namespace inotrace::testing
