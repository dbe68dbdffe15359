// Live tier: the real BPF programs attached to the running kernel. Each test performs known
// inotify operations and asserts the exact fields of the events they produce.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "events/names.h"
#include "loader/environment.h"
#include "loader/kernel_btf.h"
#include "loader/kernel_func_ids.h"
#include "loader/typed_reads.h"
#include "support/live_support.h"
#include "util/small_file.h"

namespace inotrace::testing {
namespace {

constexpr const char* kMaxWatches = "/proc/sys/fs/inotify/max_user_watches";
constexpr const char* kMaxInstances = "/proc/sys/fs/inotify/max_user_instances";

class TraceLive : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (geteuid() != 0) return;
    tracer_ = std::make_unique<Tracer>(test_tracer_options(getpid()));
  }
  static void TearDownTestSuite() { tracer_.reset(); }

  void SetUp() override {
    INOTRACE_REQUIRE_ROOT();
    ASSERT_TRUE(tracer_);
    log_ = std::make_unique<EventLog>(*tracer_);
    log_->drain();
    fd_ = inotify_init1(IN_CLOEXEC);
    ASSERT_GE(fd_, 0);
  }
  void TearDown() override {
    if (fd_ >= 0) close(fd_);
  }

  // Whether the tracer reads with typed loads, after asserting it does wherever the kernel lets
  // it (the tracepoint backend, bpf_loop, the bpf_rdonly_cast kfunc): false means skip.
  bool expect_typed_reads_or_skip() {
    bool can = tracer_->backend() == Backend::Tracepoint && kernel_has_bpf_loop() && typed_read_ids(kRunningKernelBtf);
    EXPECT_EQ(tracer_->typed_reads(), can) << "typed reads load wherever the kernel has them";
    return can;
  }

  std::optional<Event> wait_type(EventType t, int wd = -1) {
    return log_->wait_for([&](const Event& e) { return e.type == t && (wd < 0 || e.wd == wd); });
  }

  static std::unique_ptr<Tracer> tracer_;
  std::unique_ptr<EventLog> log_;
  int fd_ = -1;
  TempDir dir_;
};

std::unique_ptr<Tracer> TraceLive::tracer_;

TEST_F(TraceLive, InstanceCreateCarriesFdAndInstance) {
  auto ev = wait_type(EventType::InstanceCreate);
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->fd, fd_);
  EXPECT_NE(ev->instance.group, 0u);
  EXPECT_GT(ev->instance.seq, 0u);
  EXPECT_EQ(ev->task.pid, (uint32_t)getpid());
  EXPECT_EQ(ev->task.tid, (uint32_t)syscall(SYS_gettid));
  if (tracer_->reports_syscall_args()) {
    EXPECT_EQ(ev->req_mask, (uint32_t)IN_CLOEXEC);
  }
  EXPECT_GE(ev->ucount.count, 1);  // this instance counts against root's max_user_instances
  EXPECT_EQ(ev->ucount.max, *read_long_file(kMaxInstances));
}

#ifdef SYS_inotify_init
// inotify_init(2), which x86-64 still has: its exit tracepoint runs inotify_init1's program.
TEST_F(TraceLive, OldInotifyInitIsAnInstanceCreateToo) {
  ASSERT_TRUE(wait_type(EventType::InstanceCreate));  // SetUp's inotify_init1
  int old = (int)syscall(SYS_inotify_init);
  ASSERT_GE(old, 0) << strerror(errno);
  auto ev = log_->wait_for([&](const Event& e) { return e.type == EventType::InstanceCreate && e.fd == old; });
  int wd = inotify_add_watch(old, dir_.path().c_str(), IN_CREATE);
  ASSERT_GT(wd, 0) << strerror(errno);
  auto add = wait_type(EventType::Add, wd);
  close(old);
  ASSERT_TRUE(ev) << "no instance_create for inotify_init's fd " << old;
  EXPECT_EQ(ev->req_mask, 0u);
  EXPECT_NE(ev->instance.group, 0u);
  EXPECT_EQ(ev->task.pid, (uint32_t)getpid());
  ASSERT_TRUE(add);
  EXPECT_EQ(add->instance, ev->instance) << "the add names the instance inotify_init made";
}
#endif

TEST_F(TraceLive, NewWatchHasExactWdInoDevMaskPath) {
  std::string d = dir_.mkdir("watched");
  int wd = inotify_add_watch(fd_, d.c_str(), IN_MODIFY | IN_CREATE);
  ASSERT_GT(wd, 0);
  auto ev = wait_type(EventType::Add, wd);
  ASSERT_TRUE(ev) << "no add event for wd " << wd;
  Target t = stat_target(d);
  EXPECT_EQ(ev->wd, wd);
  EXPECT_EQ(ev->ino, t.ino);
  EXPECT_EQ(ev->dev, t.dev) << ev->dev.str() << " vs " << t.dev.str();
  EXPECT_EQ(ev->mask, (uint32_t)(IN_MODIFY | IN_CREATE));
  EXPECT_EQ(ev->req_mask, (uint32_t)(IN_MODIFY | IN_CREATE));
  EXPECT_EQ(ev->path, d);
  // The caller's string (tracepoint), or the kernel's resolved dentry joined with its mount.
  EXPECT_TRUE(ev->path_source == PathSource::Syscall || ev->path_source == PathSource::Mount)
      << path_source_name(ev->path_source);
  if (tracer_->reports_syscall_args()) {
    EXPECT_EQ(ev->fd, fd_);
  }
  EXPECT_EQ(ev->task.pid, (uint32_t)getpid());
  EXPECT_EQ(ev->task.uid, 0u);
  EXPECT_GE(ev->ucount.count, 1);
  EXPECT_EQ(ev->ucount.max, *read_long_file(kMaxWatches));
  EXPECT_EQ(ev->ucount.uid, 0u);

  auto create = wait_type(EventType::InstanceCreate);
  ASSERT_TRUE(create);
  EXPECT_EQ(ev->instance, create->instance) << "add and instance_create name the same instance";
}

TEST_F(TraceLive, MaskAddUpdatesTheSameWatch) {
  std::string a = dir_.mkdir("a"), b = dir_.mkdir("b");
  int wd_a = inotify_add_watch(fd_, a.c_str(), IN_MODIFY);
  int wd_b = inotify_add_watch(fd_, b.c_str(), IN_MODIFY);
  ASSERT_GT(wd_b, wd_a);
  // Update the older watch while a newer one exists: new-vs-update must not be fooled.
  int wd_a2 = inotify_add_watch(fd_, a.c_str(), IN_ATTRIB | IN_MASK_ADD);
  ASSERT_EQ(wd_a2, wd_a);
  auto upd = wait_type(EventType::Update, wd_a);
  ASSERT_TRUE(upd);
  EXPECT_EQ(upd->mask, (uint32_t)(IN_MODIFY | IN_ATTRIB));
  EXPECT_EQ(upd->ino, stat_target(a).ino);
  // Without IN_MASK_ADD the mask is replaced.
  ASSERT_EQ(inotify_add_watch(fd_, b.c_str(), IN_DELETE_SELF), wd_b);
  auto repl = wait_type(EventType::Update, wd_b);
  ASSERT_TRUE(repl);
  EXPECT_EQ(repl->mask, (uint32_t)IN_DELETE_SELF);
  auto adds = log_->collect([](const Event& e) { return e.type == EventType::Add; }, std::chrono::milliseconds(100));
  EXPECT_EQ(adds.size(), 2u) << "exactly two new watches";
}

TEST_F(TraceLive, MaskCreateOnWatchedInodeFailsWithEexist) {
  std::string d = dir_.mkdir("mc");
  ASSERT_GT(inotify_add_watch(fd_, d.c_str(), IN_MODIFY), 0);
  errno = 0;
  ASSERT_EQ(inotify_add_watch(fd_, d.c_str(), IN_MODIFY | IN_MASK_CREATE), -1);
  ASSERT_EQ(errno, EEXIST);
  auto ev = wait_type(EventType::AddFailed);
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->err, EEXIST);
  EXPECT_EQ(ev->req_mask, (uint32_t)(IN_MODIFY | IN_MASK_CREATE));
  if (tracer_->reports_syscall_args()) {
    EXPECT_EQ(ev->path, d);
    EXPECT_EQ(ev->fd, fd_);
  }
}

TEST_F(TraceLive, EnospcWhenUserWatchLimitIsReached) {
  std::string first = dir_.mkdir("first"), second = dir_.mkdir("second");
  ASSERT_GT(inotify_add_watch(fd_, first.c_str(), IN_MODIFY), 0);  // root now holds >= 1 watch
  {
    SysctlGuard limit(kMaxWatches, 1);
    errno = 0;
    ASSERT_EQ(inotify_add_watch(fd_, second.c_str(), IN_MODIFY), -1);
    ASSERT_EQ(errno, ENOSPC);
  }
  auto ev = wait_type(EventType::AddFailed);
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->err, ENOSPC);
  if (tracer_->reports_syscall_args()) {
    EXPECT_EQ(ev->path, second);
  }
  EXPECT_EQ(ev->ucount.max, 1) << "the limit in force at the moment of the failure";
  EXPECT_GE(ev->ucount.count, 1);
}

// Every add and removal carries the user's watch count at that moment, the charged uid and the
// user namespace.
TEST_F(TraceLive, EachRecordsUcountIsTheUsersCountAtThatMoment) {
  struct stat ns;
  ASSERT_EQ(stat("/proc/self/ns/user", &ns), 0);
  int wds[3];
  for (int i = 0; i < 3; i++) ASSERT_GT(wds[i] = inotify_add_watch(fd_, dir_.mkdir("uc" + std::to_string(i)).c_str(), IN_CREATE), 0);
  for (int wd : wds) ASSERT_EQ(inotify_rm_watch(fd_, wd), 0);
  std::vector<Event> seen;
  for (int wd : wds)
    for (EventType t : {EventType::Add, EventType::Remove}) {
      auto ev = wait_type(t, wd);
      ASSERT_TRUE(ev) << event_type_name(t) << " of wd " << wd;
      EXPECT_EQ(ev->ucount.uid, 0u);
      EXPECT_EQ(ev->ucount.userns_ino, (uint32_t)ns.st_ino);
      EXPECT_EQ(ev->ucount.max, *read_long_file(kMaxWatches));
      seen.push_back(*ev);
    }
  // seen: add, rm of wd 0, 1, 2. The third add counts all three watches, the third removal
  // none of them: 3 apart (other root processes could move the count meanwhile: only the
  // direction is held).
  EXPECT_GT(seen[0].ucount.count, 0);
  EXPECT_LT(seen[0].ucount.count, seen[4].ucount.count) << "the third add counts the first two watches";
  EXPECT_LT(seen[5].ucount.count, seen[4].ucount.count) << "the last removal counts none of them";
}

TEST_F(TraceLive, RmWatchIsARemovalWithReasonRmWatch) {
  std::string d = dir_.mkdir("rm-me");
  int wd = inotify_add_watch(fd_, d.c_str(), IN_MODIFY | IN_ONLYDIR);
  ASSERT_GT(wd, 0);
  ASSERT_EQ(inotify_rm_watch(fd_, wd), 0);
  auto add = wait_type(EventType::Add, wd);
  auto rm = wait_type(EventType::Remove, wd);
  ASSERT_TRUE(add && rm);
  Target t = stat_target(d);
  EXPECT_EQ(rm->reason, Reason::RmWatch);
  EXPECT_EQ(rm->ino, t.ino);
  EXPECT_EQ(rm->dev, t.dev);
  EXPECT_EQ(rm->mask, (uint32_t)IN_MODIFY);
  EXPECT_EQ(rm->instance, add->instance);
  // The kernel's in-filesystem path, joined with the filesystem's mount in the watcher's
  // namespace: never shown bare, as if it were absolute (issue 11 item 17).
  EXPECT_EQ(rm->path_source, PathSource::Mount);
  EXPECT_EQ(rm->path, d);
  // A failing rm_watch (unknown wd) removes nothing.
  ASSERT_EQ(inotify_rm_watch(fd_, wd), -1);
  auto extra = log_->collect([&](const Event& e) { return e.type == EventType::Remove; }, std::chrono::milliseconds(200));
  EXPECT_EQ(extra.size(), 1u);
}

// The programs commit records without waking the consumer (BPF_RB_NO_WAKEUP), except the
// first one after it armed a wake-up to block (loader/ring_wakeups.h): a consumer blocked in
// poll() with a long timeout must still get each record at once, every time it waits again.
TEST_F(TraceLive, AWaitingConsumerIsWokenByTheNextRecord) {
  std::string d = dir_.mkdir("wake");
  for (int i = 0; i < 20; i++) {
    log_->drain();  // the ring read to its end: the poll below blocks until the add's record
    std::thread adder([&] {
      usleep(30'000);
      inotify_add_watch(fd_, d.c_str(), IN_CREATE | (i % 2 ? IN_DELETE : 0));
    });
    auto began = std::chrono::steady_clock::now();
    const auto deadline = began + std::chrono::seconds(10);
    int adds = 0;
    // Polled until the add's record came: a wake-up that brought no record (an empty one) is
    // not what this test counts on, only when the record was read.
    while (adds == 0 && std::chrono::steady_clock::now() < deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      tracer_->poll(std::max<int>(1, left.count()),
                    [&](Event& e) { adds += e.type == EventType::Add || e.type == EventType::Update; });
    }
    auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - began);
    adder.join();
    EXPECT_EQ(adds, 1) << "round " << i;
    // 30 ms until the add, plus scheduling; without a wake-up the poll waits out its 10 s.
    EXPECT_LT(waited.count(), 2'000) << "round " << i << ": the record did not wake the waiting consumer";
  }
}

constexpr const char* kNoTypedReads =
    "SKIPPED: typed reads need the tracepoint backend and the bpf_rdonly_cast kfunc (6.2+); "
    "this run reads with probe reads only";

// On the tracepoint backend, where the kernel lets a program type a pointer (6.2+), the programs
// read kernel objects with plain typed loads (loader/typed_reads.h): a second tracer reading
// them with probe reads must see every field of the same operations the same.
TEST_F(TraceLive, TypedAndProbedReadsGiveTheSameRecords) {
  if (!expect_typed_reads_or_skip()) GTEST_SKIP() << kNoTypedReads;
  TracerOptions o = test_tracer_options(getpid());
  o.typed_reads = false;
  Tracer probed(o);
  ASSERT_FALSE(probed.typed_reads());
  EventLog probed_log(probed);
  probed_log.drain();
  std::string d = dir_.mkdir("typed-and-probed");
  int wd = inotify_add_watch(fd_, d.c_str(), IN_MODIFY | IN_ONLYDIR | IN_EXCL_UNLINK);
  ASSERT_GT(wd, 0);
  ASSERT_EQ(inotify_add_watch(fd_, d.c_str(), IN_ATTRIB | IN_MASK_ADD), wd);  // an update
  ASSERT_EQ(inotify_add_watch(fd_, (d + "/missing").c_str(), IN_MODIFY), -1);  // a failure
  ASSERT_EQ(inotify_rm_watch(fd_, wd), 0);
  auto is_watch = [](const Event& e) { return e.is_watch_event(); };
  auto typed = log_->collect(is_watch, std::chrono::milliseconds(500));
  auto probe = probed_log.collect(is_watch, std::chrono::milliseconds(500));
  ASSERT_EQ(typed.size(), 4u);
  ASSERT_EQ(probe.size(), 4u);
  for (size_t i = 0; i < typed.size(); i++) {
    const Event &a = typed[i], &b = probe[i];
    SCOPED_TRACE(fmt::format("record {} ({})", i, event_type_name(a.type)));
    EXPECT_EQ(a.type, b.type);
    EXPECT_EQ(a.flags, b.flags);
    EXPECT_EQ(a.fd, b.fd);
    EXPECT_EQ(a.wd, b.wd);
    EXPECT_EQ(a.ino, b.ino);
    EXPECT_EQ(a.dev.raw, b.dev.raw);
    EXPECT_EQ(a.mask, b.mask);
    EXPECT_EQ(a.req_mask, b.req_mask);
    EXPECT_EQ(a.err, b.err);
    EXPECT_EQ(a.reason, b.reason);
    EXPECT_EQ(a.ucount.count, b.ucount.count);
    EXPECT_EQ(a.ucount.max, b.ucount.max);
    EXPECT_EQ(a.ucount.uid, b.ucount.uid);
    EXPECT_EQ(a.ucount.userns_ino, b.ucount.userns_ino);
    EXPECT_EQ(a.path, b.path);
    EXPECT_EQ(a.path_source, b.path_source);
    EXPECT_EQ(a.instance.group, b.instance.group);
  }
  Target t = stat_target(d);
  EXPECT_EQ(typed[0].ino, t.ino);  // and right, not only the same
  EXPECT_EQ(typed[3].type, EventType::Remove);
  EXPECT_EQ(typed[3].mask, (uint32_t)(IN_MODIFY | IN_ATTRIB | IN_EXCL_UNLINK));
}

// The typed wd lookup loads each level's slot with a typed load at a computed address
// (typed_load_slot): at a wd past 64 * 64 the instance's idr is three levels deep
// (XA_CHUNK_SHIFT 6), and every level must give the same mark as the probed walk does.
TEST_F(TraceLive, TypedAndProbedReadsAgreeThreeLevelsDownTheIdr) {
  if (!expect_typed_reads_or_skip()) GTEST_SKIP() << kNoTypedReads;
  std::string d = dir_.mkdir("deep-idr");
  int last = 0;
  for (int i = 0; i < 4200; i++) {  // idr_alloc_cyclic hands out ever higher wds
    last = inotify_add_watch(fd_, d.c_str(), IN_MODIFY);
    ASSERT_GT(last, 0);
    ASSERT_EQ(inotify_rm_watch(fd_, last), 0);
    if (i % 1000 == 999) log_->drain();  // 8,400 records would overflow the tests' 1 MiB ring
  }
  ASSERT_GT(last, 64 * 64);
  TracerOptions o = test_tracer_options(getpid());
  o.typed_reads = false;
  Tracer probed(o);
  ASSERT_FALSE(probed.typed_reads());
  EventLog probed_log(probed);
  int wd = inotify_add_watch(fd_, d.c_str(), IN_MODIFY | IN_ATTRIB);
  ASSERT_GT(wd, last);
  ASSERT_EQ(inotify_rm_watch(fd_, wd), 0);
  auto this_wd = [&](const Event& e) { return e.is_watch_event() && e.wd == wd && e.fd == fd_; };
  auto typed = log_->collect(this_wd, std::chrono::milliseconds(1000));
  auto probe = probed_log.collect(this_wd, std::chrono::milliseconds(500));
  ASSERT_EQ(typed.size(), 2u);
  ASSERT_EQ(probe.size(), 2u);
  Target t = stat_target(d);
  for (size_t i = 0; i < typed.size(); i++) {
    SCOPED_TRACE(fmt::format("record {} ({})", i, event_type_name(typed[i].type)));
    EXPECT_EQ(typed[i].type, i == 0 ? EventType::Add : EventType::Remove);
    EXPECT_EQ(typed[i].flags, probe[i].flags);
    EXPECT_EQ(typed[i].ino, t.ino);  // found, and right
    EXPECT_EQ(probe[i].ino, t.ino);
    EXPECT_EQ(typed[i].dev.raw, probe[i].dev.raw);
    EXPECT_EQ(typed[i].mask, (uint32_t)(IN_MODIFY | IN_ATTRIB));
    EXPECT_EQ(probe[i].mask, typed[i].mask);
    EXPECT_EQ(typed[i].path, probe[i].path);
    EXPECT_EQ(typed[i].instance.group, probe[i].instance.group);
  }
}

// A kernel whose verifier rejects the typed programs still traces, with the probed ones: the
// casts are linked to a kernel function that is no kfunc, which every verifier refuses.
TEST_F(TraceLive, RejectedTypedProgramsFallBackToProbeReads) {
  if (!tracer_->typed_reads())
    GTEST_SKIP() << "SKIPPED: this run loads no typed programs (they need the tracepoint backend and the "
                    "bpf_rdonly_cast kfunc, 6.2+): nothing to reject";
  int not_a_kfunc = kernel_func_id(kRunningKernelBtf, "inotify_freeing_mark");
  ASSERT_GT(not_a_kfunc, 0);
  TracerOptions o = test_tracer_options(getpid());
  o.typed_cast_func_for_test = not_a_kfunc;
  std::vector<std::string> said;
  o.log = [&](const std::string& s) { said.push_back(s); };
  Tracer fallen_back(o);
  EXPECT_FALSE(fallen_back.typed_reads());
  EXPECT_EQ(fallen_back.backend(), Backend::Tracepoint);
  // The first typed program libbpf loads is the one named.
  bool told = std::any_of(said.begin(), said.end(), [](const std::string& s) {
    return s.find("the typed-read program tp_") != std::string::npos && s.find("_typed did not load") != std::string::npos &&
           s.find("loading the probe-read programs instead") != std::string::npos;
  });
  EXPECT_TRUE(told) << "the fallback is said, not silent: " << fmt::format("{}", fmt::join(said, " | "));
  EventLog log(fallen_back);
  log.drain();
  std::string d = dir_.mkdir("after-fallback");
  int wd = inotify_add_watch(fd_, d.c_str(), IN_MODIFY);
  ASSERT_GT(wd, 0);
  auto add = log.wait_for([&](const Event& e) { return e.type == EventType::Add && e.wd == wd; });
  ASSERT_TRUE(add) << "the probed programs trace";
  EXPECT_EQ(add->path, d);
  EXPECT_EQ(add->ino, stat_target(d).ino);
}

TEST_F(TraceLive, Init1FailureWithEmfileAtMaxUserInstances) {
  // fd_ already counts as one of root's instances.
  int fd2;
  {
    SysctlGuard limit(kMaxInstances, 1);
    errno = 0;
    fd2 = inotify_init1(IN_NONBLOCK);
    int err = errno;
    if (fd2 >= 0) close(fd2);
    ASSERT_EQ(fd2, -1);
    ASSERT_EQ(err, EMFILE);
  }
  auto ev = wait_type(EventType::InitFailed);
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->err, EMFILE);
  if (tracer_->reports_syscall_args()) {
    EXPECT_EQ(ev->req_mask, (uint32_t)IN_NONBLOCK);
  }
  if (kernel_struct_has_member("cred", "ucounts")) {  // 5.14+: the caller's own counter
    EXPECT_EQ(ev->ucount.max, 1);
    EXPECT_GE(ev->ucount.count, 1);
  } else {
    EXPECT_FALSE(ev->ucount.known()) << "no cred->ucounts on this kernel: unknown, not guessed";
  }
}

TEST_F(TraceLive, HostilePathsArriveByteExact) {
  const std::vector<std::string> names = {"with space", "new\nline", "\xc3\xbc" "n" "\xc3\xaf" "c" "\xc3\xb6" "d" "\xc3\xa9 \xe2\x9c\x93",
                                          "bad\xff\xfeutf8", "quote\"back\\slash"};
  for (const auto& n : names) {
    std::string p = dir_.mkdir(n);
    int wd = inotify_add_watch(fd_, p.c_str(), IN_MODIFY);
    ASSERT_GT(wd, 0) << n;
    auto ev = wait_type(EventType::Add, wd);
    ASSERT_TRUE(ev) << n;
    EXPECT_EQ(ev->path, p);
    EXPECT_EQ(ev->ino, stat_target(p).ino);
  }
}

TEST_F(TraceLive, LongPathIsCapturedWhole) {
  // A path near PATH_MAX through many nested directories.
  std::string p = dir_.path();
  std::string comp(200, 'x');
  while (p.size() + comp.size() + 1 < 4000) {
    p += "/" + comp;
    ASSERT_EQ(mkdir(p.c_str(), 0755), 0);
  }
  int wd = inotify_add_watch(fd_, p.c_str(), IN_MODIFY);
  ASSERT_GT(wd, 0);
  auto ev = wait_type(EventType::Add, wd);
  ASSERT_TRUE(ev);
  if (ev->flags & INOTRACE_F_PATH_TRUNCATED) {
    // Only where the caller's string is unknown (fentry without syscall arguments) may the
    // kernel walk's bound show, and then it says so.
    EXPECT_FALSE(tracer_->reports_syscall_args());
    EXPECT_TRUE(p.ends_with(ev->path.substr(ev->path.rfind('/'))));
  } else {
    EXPECT_EQ(ev->path, p);
  }
}

TEST_F(TraceLive, RelativePathIsMadeAbsoluteWithTheCwd) {
  std::string d = dir_.mkdir("rel");
  char old[4096];
  ASSERT_TRUE(getcwd(old, sizeof(old)));
  ASSERT_EQ(chdir(dir_.path().c_str()), 0);
  int wd = inotify_add_watch(fd_, "rel", IN_MODIFY);
  ASSERT_EQ(chdir(old), 0);
  ASSERT_GT(wd, 0);
  auto ev = wait_type(EventType::Add, wd);
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->path, d) << "made absolute with the caller's cwd, or resolved by the kernel";
}

TEST_F(TraceLive, PidFilterHidesOtherProcesses) {
  std::string d = dir_.mkdir("child");
  pid_t child = fork();
  if (child == 0) {
    int fd = inotify_init1(0);
    _exit(inotify_add_watch(fd, d.c_str(), IN_MODIFY) > 0 ? 0 : 1);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  auto seen = log_->collect([&](const Event& e) { return e.task.pid == (uint32_t)child; });
  EXPECT_TRUE(seen.empty()) << "events of pid " << child << " leaked through --pid " << getpid();
}

// A real client: inotifywait, traced with a comm filter (its pid is unknown before it starts).
TEST(TraceLiveClient, InotifywaitAddIsSeenWithItsPidAndPath) {
  INOTRACE_REQUIRE_ROOT();
  if (system("command -v inotifywait >/dev/null") != 0) GTEST_SKIP() << "SKIPPED: inotifywait (inotify-tools) not installed";
  TempDir dir;
  auto opts = test_tracer_options();
  opts.filters.comm = "inotifywait";
  Tracer tracer(opts);
  EventLog log(tracer);
  pid_t child = fork();
  if (child == 0) {
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    dup2(devnull, 2);
    execlp("inotifywait", "inotifywait", "-m", "-e", "create,delete", dir.path().c_str(), (char*)nullptr);
    _exit(127);
  }
  auto ev = log.wait_for([&](const Event& e) { return e.type == EventType::Add && e.task.pid == (uint32_t)child; },
                         std::chrono::seconds(5));
  kill(child, SIGTERM);
  waitpid(child, nullptr, 0);
  ASSERT_TRUE(ev) << "no add from inotifywait pid " << child;
  Target t = stat_target(dir.path());
  EXPECT_EQ(ev->path, dir.path());
  EXPECT_EQ(ev->wd, 1);
  EXPECT_EQ(ev->ino, t.ino);
  EXPECT_EQ(ev->dev, t.dev);
  EXPECT_EQ(ev->mask, (uint32_t)(IN_CREATE | IN_DELETE));
  EXPECT_EQ(ev->task.comm, "inotifywait");
}

}  // namespace
}  // namespace inotrace::testing
