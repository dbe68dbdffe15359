// Live tier: every way a watch ends, with its reason. On fentry/kprobe the kernel classifies
// the removal at the moment it happens; on the tracepoint backend, reconciliation against
// snapshots finds it within two reconcile intervals (the deadline asserted here).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <map>
#include <memory>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "events/names.h"
#include "loader/environment.h"
#include "support/live_support.h"

namespace inotrace::testing {
namespace {

constexpr double kReconcileInterval = 0.5;

class RemovalLive : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (geteuid() != 0) return;
    SessionOptions o;
    o.tracer = test_tracer_options();
    o.tracer.filters.comm = comm();  // this process and its forks, whatever their pid
    o.reconcile_interval_s = kReconcileInterval;
    session_ = std::make_unique<TraceSession>(o, [](const std::string&) {});
  }
  static void TearDownTestSuite() { session_.reset(); }

  static std::string comm() {
    std::ifstream f("/proc/self/comm");
    std::string c;
    std::getline(f, c);
    return c;
  }

  void SetUp() override {
    INOTRACE_REQUIRE_ROOT();
    ASSERT_TRUE(session_);
    log_ = std::make_unique<EventLog>(*session_);
    log_->drain();
  }

  bool hooked() const { return session_->tracer().backend() != Backend::Tracepoint; }
  // Hooks report at once; reconciliation within two intervals (plus the snapshot's own time).
  std::chrono::milliseconds deadline() const {
    return std::chrono::milliseconds(hooked() ? 2000 : (int)(2 * kReconcileInterval * 1000) + 1500);
  }

  // A new instance, and its identity as the tracer reports it.
  std::pair<int, InstanceId> open_instance() {
    int fd = inotify_init1(IN_CLOEXEC);
    EXPECT_GE(fd, 0);
    auto ev = log_->wait_for([&](const Event& e) {
      return e.type == EventType::InstanceCreate && e.fd == fd && e.task.pid == (uint32_t)getpid();
    });
    EXPECT_TRUE(ev) << "no instance_create for fd " << fd;
    return {fd, ev ? ev->instance : InstanceId{}};
  }

  // The wait for what must come ends as soon as it came: long, so that a loaded machine's slow
  // reconcile is not read as a missing event. deadline() bounds the waits for what must not come.
  static constexpr std::chrono::milliseconds kPatience{20'000};

  std::optional<Event> wait_removal(const InstanceId& inst, int wd) {
    return log_->wait_for(
        [&](const Event& e) { return e.type == EventType::Remove && e.instance.group == inst.group && e.wd == wd; },
        kPatience);
  }

  void expect_reason(const std::optional<Event>& ev, Reason want, const Target& t) {
    ASSERT_TRUE(ev) << "no removal within " << kPatience.count() << " ms";
    EXPECT_EQ(ev->reason, want) << "got " << (int)ev->reason;
    EXPECT_EQ(ev->ino, t.ino);
    EXPECT_EQ(ev->dev, t.dev);
    EXPECT_EQ(ev->from_snapshot, !hooked()) << "hooked backends see removals live";
  }

  static std::unique_ptr<TraceSession> session_;
  std::unique_ptr<EventLog> log_;
  TempDir dir_;
};

std::unique_ptr<TraceSession> RemovalLive::session_;

TEST_F(RemovalLive, RmWatch) {
  auto [fd, inst] = open_instance();
  std::string d = dir_.mkdir("rm");
  Target t = stat_target(d);
  int wd = inotify_add_watch(fd, d.c_str(), IN_CREATE);
  ASSERT_EQ(inotify_rm_watch(fd, wd), 0);
  auto ev = wait_removal(inst, wd);
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->reason, Reason::RmWatch);
  EXPECT_EQ(ev->ino, t.ino);
  EXPECT_FALSE(ev->from_snapshot) << "rm_watch is exact on every backend";
  close(fd);
}

TEST_F(RemovalLive, RmdirOfTheTargetIsInodeDeleted) {
  auto [fd, inst] = open_instance();
  std::string d = dir_.mkdir("gone");
  Target t = stat_target(d);
  int wd = inotify_add_watch(fd, d.c_str(), IN_CREATE);
  ASSERT_GT(wd, 0);
  ASSERT_EQ(rmdir(d.c_str()), 0);
  expect_reason(wait_removal(inst, wd), Reason::InodeDeleted, t);
  close(fd);
}

TEST_F(RemovalLive, UnlinkOfTheTargetIsInodeDeleted) {
  auto [fd, inst] = open_instance();
  std::string f = dir_.touch("file");
  Target t = stat_target(f);
  int wd = inotify_add_watch(fd, f.c_str(), IN_MODIFY);
  ASSERT_GT(wd, 0);
  ASSERT_EQ(unlink(f.c_str()), 0);
  expect_reason(wait_removal(inst, wd), Reason::InodeDeleted, t);
  close(fd);
}

TEST_F(RemovalLive, UmountOfATmpfsIsUnmount) {
  auto [fd, inst] = open_instance();
  std::string mnt = dir_.mkdir("mnt");
  ASSERT_EQ(mount("inotrace-test", mnt.c_str(), "tmpfs", 0, "size=1m"), 0);
  std::string d = mnt + "/in-tmpfs";
  ASSERT_EQ(mkdir(d.c_str(), 0755), 0);
  Target t = stat_target(d);
  Target root = stat_target(mnt);
  int wd = inotify_add_watch(fd, d.c_str(), IN_CREATE);
  int wd_root = inotify_add_watch(fd, mnt.c_str(), IN_CREATE);
  ASSERT_GT(wd, 0);
  ASSERT_EQ(umount(mnt.c_str()), 0);
  expect_reason(wait_removal(inst, wd), Reason::Unmount, t);
  expect_reason(wait_removal(inst, wd_root), Reason::Unmount, root);
  close(fd);
}

TEST_F(RemovalLive, CloseOfTheFdIsInstanceClosed) {
  auto [fd, inst] = open_instance();
  std::string a = dir_.mkdir("ca"), b = dir_.mkdir("cb");
  int wa = inotify_add_watch(fd, a.c_str(), IN_CREATE);
  int wb = inotify_add_watch(fd, b.c_str(), IN_CREATE);
  close(fd);
  expect_reason(wait_removal(inst, wa), Reason::InstanceClosed, stat_target(a));
  expect_reason(wait_removal(inst, wb), Reason::InstanceClosed, stat_target(b));
  auto destroy = log_->wait_for(
      [&](const Event& e) { return e.type == EventType::InstanceDestroy && e.instance.group == inst.group; },
      kPatience);
  EXPECT_TRUE(destroy) << "instance_destroy";
}

// A child that adds a watch, reports it, and exits (or closes) on request.
struct Child {
  pid_t pid = -1;
  int cmd = -1;    // write a byte: 'x' exit, 'c' close the fd and stay
  int reply = -1;  // reads: the wd
};

Child spawn_watcher(int inherited_fd, const std::string& path) {
  int to[2], from[2];
  if (pipe(to) || pipe(from)) abort();
  Child c;
  c.pid = fork();
  if (c.pid == 0) {
    close(to[1]);
    close(from[0]);
    int fd = inherited_fd >= 0 ? inherited_fd : inotify_init1(0);
    int wd = inherited_fd >= 0 ? 0 : inotify_add_watch(fd, path.c_str(), IN_CREATE);
    if (write(from[1], &wd, sizeof(wd)) != sizeof(wd)) _exit(2);
    char op;
    while (read(to[0], &op, 1) == 1) {
      if (op == 'x') _exit(0);
      if (op == 'c') {
        close(fd);
        int ok = 1;
        if (write(from[1], &ok, sizeof(ok)) != sizeof(ok)) _exit(2);
      }
    }
    _exit(0);
  }
  close(to[0]);
  close(from[1]);
  c.cmd = to[1];
  c.reply = from[0];
  return c;
}

int read_int(int fd) {
  int v = -1;
  if (read(fd, &v, sizeof(v)) != sizeof(v)) return -1;
  return v;
}

TEST_F(RemovalLive, ProcessExitIsInstanceClosed) {
  std::string d = dir_.mkdir("exit");
  Child c = spawn_watcher(-1, d);
  int wd = read_int(c.reply);
  ASSERT_GT(wd, 0);
  auto add = log_->wait_for([&](const Event& e) { return e.type == EventType::Add && e.task.pid == (uint32_t)c.pid; });
  ASSERT_TRUE(add) << "the child's add";
  ASSERT_EQ(write(c.cmd, "x", 1), 1);
  waitpid(c.pid, nullptr, 0);
  expect_reason(wait_removal(add->instance, wd), Reason::InstanceClosed, stat_target(d));
}

TEST_F(RemovalLive, ForkSharedFdIsRemovedOnlyWhenTheLastHolderCloses) {
  auto [fd, inst] = open_instance();
  std::string d = dir_.mkdir("shared");
  int wd = inotify_add_watch(fd, d.c_str(), IN_CREATE);
  ASSERT_GT(wd, 0);
  Child c = spawn_watcher(fd, d);  // the child holds the same instance
  ASSERT_EQ(read_int(c.reply), 0);
  close(fd);  // the parent lets go first: the child still holds it
  auto early = log_->collect([&](const Event& e) { return e.type == EventType::Remove && e.instance.group == inst.group; },
                             deadline());
  EXPECT_TRUE(early.empty()) << "removed while the child still held the fd";
  ASSERT_EQ(write(c.cmd, "c", 1), 1);
  ASSERT_EQ(read_int(c.reply), 1);
  expect_reason(wait_removal(inst, wd), Reason::InstanceClosed, stat_target(d));
  ASSERT_EQ(write(c.cmd, "x", 1), 1);
  waitpid(c.pid, nullptr, 0);
}

TEST_F(RemovalLive, OneshotFiresAndIsRemovedWithReasonOneshot) {
  auto [fd, inst] = open_instance();
  std::string f = dir_.touch("oneshot");
  Target t = stat_target(f);
  int wd = inotify_add_watch(fd, f.c_str(), IN_MODIFY | IN_ONESHOT);
  ASSERT_GT(wd, 0);
  std::ofstream(f, std::ios::app) << "change";
  expect_reason(wait_removal(inst, wd), Reason::Oneshot, t);
  close(fd);
}

TEST_F(RemovalLive, FailedAddsRemoveNothing) {
  auto [fd, inst] = open_instance();
  std::string d = dir_.mkdir("failed"), other = dir_.mkdir("failed2");
  int wd = inotify_add_watch(fd, d.c_str(), IN_CREATE);
  ASSERT_GT(wd, 0);
  ASSERT_EQ(inotify_add_watch(fd, d.c_str(), IN_CREATE | IN_MASK_CREATE), -1);  // EEXIST
  {
    SysctlGuard limit("/proc/sys/fs/inotify/max_user_watches", 1);
    ASSERT_EQ(inotify_add_watch(fd, other.c_str(), IN_CREATE), -1);  // ENOSPC
  }
  auto removals = log_->collect(
      [&](const Event& e) { return e.type == EventType::Remove && e.instance.group == inst.group; }, deadline());
  EXPECT_TRUE(removals.empty()) << removals.size() << " removal(s) after failed adds";
  close(fd);
}

// Issue 11 item 14: an add whose watch vanished before the add returned (mark_gone, a rmdir
// racing the add) is still matched by exactly one remove, so adds - removes never shows a
// phantom watch; the table agrees with the stream.
TEST_F(RemovalLive, EveryAddIsMatchedByExactlyOneRemoveUnderAnRmdirRace) {
  auto [fd, inst] = open_instance();
  uint64_t drops = session_->counters().tracer.ringbuf_drops;
  std::string d = dir_.sub("race");
  std::atomic<bool> stop{false};
  std::thread remover([&] {
    while (!stop) {
      mkdir(d.c_str(), 0755);
      rmdir(d.c_str());
    }
  });
  // Until the race has hit a few times (a mark gone before the add returned), at most 20 s.
  int added = 0;
  auto gone_at_add = [&] {
    int n = 0;
    for (const auto& e : log_->all())
      n += e.instance == inst && e.type == EventType::Add && (e.flags & INOTRACE_F_MARK_GONE);
    return n;
  };
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (int batch = 0; (batch < 40 || gone_at_add() < 5) && std::chrono::steady_clock::now() < until; batch++) {
    for (int i = 0; i < 500; i++) added += inotify_add_watch(fd, d.c_str(), IN_CREATE | IN_DELETE_SELF) > 0;
    log_->collect([](const Event&) { return false; }, std::chrono::milliseconds(5));  // keep the ring buffer flowing
  }
  stop = true;
  remover.join();
  rmdir(d.c_str());

  struct Count {
    int adds = 0, removes = 0;
  };
  auto count = [&] {
    std::map<int, Count> per_wd;
    for (const auto& e : log_->all()) {
      // The full id: an earlier test's instance at the same (reused) pointer may still be
      // reported closed by a late reconcile.
      if (!(e.instance == inst)) continue;
      if (e.type == EventType::Add) per_wd[e.wd].adds++;
      if (e.type == EventType::Remove) per_wd[e.wd].removes++;
    }
    return per_wd;
  };
  // Let reconciliation catch up, then the stream and the table agree on what is still watched.
  log_->collect([](const Event&) { return false; }, deadline());
  auto open_counts = count();
  const auto& table = session_->table().instances();
  auto it = table.find(inst.group);
  for (const auto& [wd, c] : open_counts) {
    EXPECT_TRUE(c.adds - c.removes == 0 || c.adds - c.removes == 1) << "wd " << wd << ": " << c.adds << " adds, " << c.removes << " removes";
    bool in_table = it != table.end() && it->second.watches.count(wd);
    EXPECT_EQ(in_table, c.adds - c.removes == 1) << "wd " << wd << ": the table and the stream disagree";
  }
  close(fd);
  log_->collect([](const Event&) { return false; }, deadline());
  int unbalanced = 0;
  for (const auto& [wd, c] : count())
    if (c.adds != c.removes) {
      if (unbalanced++ < 5) ADD_FAILURE() << "wd " << wd << ": " << c.adds << " add(s), " << c.removes << " remove(s)";
    }
  EXPECT_EQ(unbalanced, 0) << "of " << count().size() << " wds";
  EXPECT_FALSE(session_->table().instances().count(inst.group)) << "the closed instance is still in the table";
  EXPECT_EQ(session_->counters().tracer.ringbuf_drops, drops) << "events were lost: counts prove nothing";
  std::printf("%d successful adds, %d with mark_gone, %zu wds\n", added, gone_at_add(), count().size());
  // The tracepoint backend reads the mark after the syscall returned: the race hits there every
  // run. On hooked backends the window is the few instructions between the mark's creation and
  // the exit hook (5.10's fentry saw none in 60,816 adds): the balance above is what counts.
  if (!hooked()) EXPECT_GT(gone_at_add(), 0) << "the race never hit: the test did not exercise mark_gone";
  else if (gone_at_add() == 0) std::printf("note: no add saw its mark gone on this hooked backend\n");
}

// Issue 11 item 15: a watched file unlinked and its instance closed before the next snapshot.
// The evidence cannot tell which came first, so the removal must not claim instance_closed
// as certain (hooked backends see the unlink itself).
TEST_F(RemovalLive, UnlinkThenCloseWithinOneIntervalIsNotCertainlyInstanceClosed) {
  auto [fd, inst] = open_instance();
  std::string f = dir_.touch("unlinked-then-closed");
  int wd = inotify_add_watch(fd, f.c_str(), IN_MODIFY);
  ASSERT_GT(wd, 0);
  ASSERT_EQ(unlink(f.c_str()), 0);
  close(fd);  // no poll since the add: no snapshot can fall between the unlink and the close
  auto ev = wait_removal(inst, wd);
  ASSERT_TRUE(ev) << "no removal";
  std::printf("reason %s, certain %d, possible %s\n", std::string(reason_name(ev->reason)).c_str(),
              ev->reason_certain(), fmt::format("{}", fmt::join(reason_names(ev->possible_reasons), ",")).c_str());
  EXPECT_FALSE(ev->reason == Reason::InstanceClosed && ev->reason_certain())
      << "instance_closed asserted as certain, though the file was unlinked first";
  EXPECT_TRUE(ev->reason == Reason::InodeDeleted || (ev->possible_reasons & reason_bit(Reason::InodeDeleted)))
      << "inode_deleted, the real cause, is not even named as possible";
}

// Issue 11 item 18: a forked child holds the last reference. No snapshot saw the child (no
// poll between the fork and its exit), so a deduced removal can only name the parent: it must
// say it names the adder, not pass the parent off as the one whose exit removed it.
TEST_F(RemovalLive, DeducedRemovalOfAChildHeldInstanceSaysWhosePidItCarries) {
  int fd = inotify_init1(0);
  ASSERT_GE(fd, 0);
  std::string d = dir_.mkdir("forked");
  int wd = inotify_add_watch(fd, d.c_str(), IN_CREATE);
  ASSERT_GT(wd, 0);
  Child c = spawn_watcher(fd, d);
  ASSERT_EQ(read_int(c.reply), 0);
  close(fd);
  ASSERT_EQ(write(c.cmd, "x", 1), 1);
  waitpid(c.pid, nullptr, 0);
  auto add = log_->wait_for([&](const Event& e) { return e.type == EventType::Add && e.wd == wd && e.task.pid == (uint32_t)getpid(); });
  ASSERT_TRUE(add);
  auto ev = wait_removal(add->instance, wd);
  ASSERT_TRUE(ev) << "no removal";
  std::printf("remove names pid %u (parent %d, child %d), pid_source %s\n", ev->task.pid, getpid(), c.pid,
              std::string(pid_source_name(ev->pid_source)).c_str());
  EXPECT_TRUE(ev->task.pid == (uint32_t)c.pid || (ev->task.pid == (uint32_t)getpid() && ev->pid_source == PidSource::Adder))
      << "names pid " << ev->task.pid << " as " << pid_source_name(ev->pid_source) << "; the child " << c.pid
      << " held the instance last";
}

// Item 18, when a snapshot did see the child alone: the removal names it as the last holder.
TEST_F(RemovalLive, DeducedRemovalNamesTheLastHolderASnapshotSaw) {
  auto [fd, inst] = open_instance();
  std::string d = dir_.mkdir("forked-seen");
  int wd = inotify_add_watch(fd, d.c_str(), IN_CREATE);
  ASSERT_GT(wd, 0);
  Child c = spawn_watcher(fd, d);
  ASSERT_EQ(read_int(c.reply), 0);
  close(fd);
  // A snapshot now sees the child alone: on the tracepoint backend, where the removal is
  // deduced, one is taken here rather than hoped for within a timed window.
  if (hooked())
    log_->collect([](const Event&) { return false; }, deadline());
  else
    session_->reconcile_now([](const Event&) {}, true);  // the child holds it: no event of it
  ASSERT_EQ(write(c.cmd, "x", 1), 1);
  waitpid(c.pid, nullptr, 0);
  auto ev = wait_removal(inst, wd);
  ASSERT_TRUE(ev) << "no removal";
  EXPECT_EQ(ev->task.pid, (uint32_t)c.pid);
  EXPECT_EQ(std::string(pid_source_name(ev->pid_source)), hooked() ? "actor" : "last_holder");
}

}  // namespace
}  // namespace inotrace::testing
