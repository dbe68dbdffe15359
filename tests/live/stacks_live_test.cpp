// Live tier: creation stacks (--stacks). Real programs (tests/stack_probes/) create watches from
// named functions; the session, with the real BPF programs, must hand each add the stack that
// names that function, in a C binary with frame pointers and a Go binary with and without its
// symbol table (then only .gopclntab names it).
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "session/trace_session.h"
#include "support/live_support.h"

namespace inotrace::testing {
namespace {

// The probe programs are built next to this test binary (host: build/tests; guest:
// /opt/inotrace/bin).
std::string probe_path(const std::string& name) {
  return std::filesystem::read_symlink("/proc/self/exe").parent_path() / name;
}

// A running probe: its stdin held open (it keeps its watches until we close it).
class Probe {
 public:
  Probe(const std::string& path, const std::vector<std::string>& args) {
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC)) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      std::vector<char*> argv{const_cast<char*>(path.c_str())};
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(path.c_str(), argv.data());
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    stdin_ = in[1];
    char buf[16] = {};
    ready_ = read(out[0], buf, sizeof(buf) - 1) > 0 && std::string(buf).starts_with("ready");
    close(out[0]);
  }
  ~Probe() {
    if (stdin_ >= 0) close(stdin_);
    if (pid_ > 0) waitpid(pid_, nullptr, 0);
  }
  bool ready() const { return ready_; }
  uint32_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1;
  bool ready_ = false;
};

// bpf_task_pt_regs (5.15) lets the BPF side read the word at the user stack pointer: the
// frameless syscall wrapper's caller. Decided by the kernel, not by what the capture returned.
bool kernel_reads_the_wrappers_caller() {
  struct utsname u {};
  int major = 0, minor = 0;
  return uname(&u) == 0 && sscanf(u.release, "%d.%d", &major, &minor) == 2 && (major > 5 || (major == 5 && minor >= 15));
}

class StacksLive : public ::testing::Test {
 protected:
  void SetUp() override {
    INOTRACE_REQUIRE_ROOT();
    SessionOptions o;
    o.tracer = test_tracer_options();
    o.tracer.capture_stacks = true;
    o.reconcile_interval_s = 0;  // seeded (a snapshot can reconcile), never on its own
    session_ = std::make_unique<TraceSession>(o, [](const std::string&) {});
    log_ = std::make_unique<EventLog>(*session_);
    log_->drain();
  }

  // The adds of `pid`, with their stacks, once `n` arrived.
  std::vector<Event> adds_of(uint32_t pid, size_t n) {
    std::vector<Event> adds;
    log_->wait_for([&](const Event& e) {
      if (e.type == EventType::Add && e.task.pid == pid) adds.push_back(e);
      return adds.size() >= n;
    });
    return adds;
  }

  static bool names(const CreationStack& s, const std::string& symbol) {
    return std::any_of(s.frames.begin(), s.frames.end(), [&](const StackFrame& f) { return f.symbol == symbol; });
  }

  static std::string describe(const CreationStack& s) {
    std::string out = stack_quality_name(s.quality);
    for (const auto& f : s.frames)
      out += "\n  " + (f.symbol.empty() ? "?" : f.symbol) + " in " + (f.module ? f.module->path : "-");
    return out;
  }

  // The Go probe at `path`: its add names main.addWatchFromGo through the binary's tables.
  void expect_go_stack(const std::string& path) {
    if (access(path.c_str(), X_OK) != 0)
      GTEST_SKIP() << "SKIPPED: " << path << " was not built: the go toolchain (golang-go) was missing";
    TempDir dir;
    Probe p(path, {dir.mkdir("go")});
    ASSERT_TRUE(p.ready());
    auto adds = adds_of(p.pid(), 1);
    ASSERT_EQ(adds.size(), 1u);
    ASSERT_TRUE(adds[0].stack) << "stack_err " << adds[0].stack_err;
    const CreationStack& s = *adds[0].stack;
    EXPECT_TRUE(names(s, "main.addWatchFromGo")) << describe(s);
    EXPECT_TRUE(names(s, "main.main")) << describe(s);
    EXPECT_EQ(s.quality, StackQuality::FramePointer) << describe(s);
    ASSERT_FALSE(s.frames.empty());
    EXPECT_EQ(s.frames[0].module->path, path);
    EXPECT_FALSE(s.frames[0].module->build_id.empty()) << "Go binaries carry a build id note";
  }

  std::unique_ptr<TraceSession> session_;
  std::unique_ptr<EventLog> log_;
};

TEST_F(StacksLive, TwoFunctionsOfACProgramAreToldApartAndNamed) {
  TempDir dir;
  std::string path = probe_path("stkprobe_c");
  Probe p(path, {dir.mkdir("a"), dir.mkdir("b")});
  ASSERT_TRUE(p.ready()) << path;
  auto adds = adds_of(p.pid(), 2);
  ASSERT_EQ(adds.size(), 2u);
  ASSERT_TRUE(adds[0].stack && adds[1].stack);
  const CreationStack &a = *adds[0].stack, &b = *adds[1].stack;
  EXPECT_NE(&a, &b) << "two code paths, two stacks";
  if (kernel_reads_the_wrappers_caller()) {
    EXPECT_NE(adds[0].stack_top_word, 0u);
    EXPECT_TRUE(names(a, "add_watch_from_alpha")) << describe(a);
    EXPECT_TRUE(names(b, "add_watch_from_beta")) << describe(b);
  } else {
    // Before 5.15 (no bpf_task_pt_regs) the frameless wrapper's caller is not in the walk: the
    // two paths differ by main's call sites only.
    std::cout << "[ NOTE ] kernel without bpf_task_pt_regs: the wrapper's caller is not in the stack\n";
    EXPECT_NE(a.frames.at(1).address, b.frames.at(1).address) << describe(a) << describe(b);
  }
  EXPECT_TRUE(names(a, "main") && names(b, "main")) << describe(a) << describe(b);
  EXPECT_EQ(a.quality, StackQuality::FramePointer) << describe(a);
  // Every frame can be symbolised offline: binary, build id and file offset.
  const StackFrame& own = a.frames.at(1);
  ASSERT_TRUE(own.module);
  EXPECT_EQ(own.module->path, path);
  EXPECT_EQ(own.module->build_id.size(), 40u) << "gcc's default --build-id is sha1";
  EXPECT_LT(own.file_offset, (uint64_t)std::filesystem::file_size(path));
  // The same code paths again are the same (interned) stacks.
  EXPECT_GE(session_->stacks()->distinct_stacks(), 3u) << "two adds and an init";
  Probe again(path, {dir.sub("a"), dir.sub("b")});
  ASSERT_TRUE(again.ready());
  auto adds2 = adds_of(again.pid(), 2);
  ASSERT_EQ(adds2.size(), 2u);
  EXPECT_EQ(adds2[0].stack.get(), &a);
  EXPECT_EQ(adds2[1].stack.get(), &b);
}

TEST_F(StacksLive, InstanceCarriesTheStackOfItsInotifyInit) {
  TempDir dir;
  auto p = std::make_unique<Probe>(probe_path("stkprobe_c"), std::vector<std::string>{dir.mkdir("a"), dir.mkdir("b")});
  ASSERT_TRUE(p->ready());
  uint32_t pid = p->pid();
  auto created = log_->wait_for([&](const Event& e) { return e.type == EventType::InstanceCreate && e.task.pid == pid; });
  ASSERT_TRUE(created);
  ASSERT_TRUE(created->stack) << "stack_err " << created->stack_err;
  const CreationStack& s = *created->stack;
  if (kernel_reads_the_wrappers_caller())
    EXPECT_TRUE(names(s, "open_instance_from_gamma")) << describe(s);
  else
    std::cout << "[ NOTE ] kernel without bpf_task_pt_regs: the wrapper's caller is not in the stack\n";
  EXPECT_TRUE(names(s, "main")) << describe(s);
  EXPECT_FALSE(names(s, "add_watch_from_alpha")) << describe(s);
  EXPECT_EQ(s.quality, StackQuality::FramePointer) << describe(s);
  auto adds = adds_of(pid, 2);
  ASSERT_EQ(adds.size(), 2u);
  EXPECT_NE(adds[0].stack.get(), created->stack.get()) << "the init and the add are two code paths";
  // Its close (a hook, or on the tracepoint backend the next snapshot) names the same creator.
  p.reset();
  auto is_close = [&](const Event& e) { return e.type == EventType::InstanceDestroy && e.instance == created->instance; };
  std::optional<Event> closed;
  if (session_->backend() == Backend::Tracepoint)
    session_->reconcile_now([&](const Event& e) { if (is_close(e)) closed = e; }, true);
  else
    closed = log_->wait_for(is_close, std::chrono::seconds(5));
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->stack.get(), created->stack.get());
}

// Deeper than a stack keeps: 64 addresses, the innermost; said to be truncated, never passed
// off as whole.
TEST_F(StacksLive, AStackDeeperThanTheBoundIsCutAndSaidToBeTruncated) {
  TempDir dir;
  Probe p(probe_path("stkprobe_c"), {"--deep", dir.mkdir("deep")});
  ASSERT_TRUE(p.ready());
  auto adds = adds_of(p.pid(), 1);
  ASSERT_EQ(adds.size(), 1u);
  EXPECT_EQ(adds[0].user_stack.size(), (size_t)INOTRACE_STACK_DEPTH);
  ASSERT_TRUE(adds[0].stack);
  const CreationStack& s = *adds[0].stack;
  EXPECT_EQ(s.quality, StackQuality::Truncated) << describe(s);
  EXPECT_FALSE(names(s, "main")) << describe(s);
  size_t recursive = std::count_if(s.frames.begin(), s.frames.end(),
                                   [](const StackFrame& f) { return f.symbol == "recurse_then_add"; });
  EXPECT_GE(recursive, (size_t)INOTRACE_STACK_DEPTH - 2) << describe(s);
}

TEST_F(StacksLive, RemovalCarriesTheStackThatCreatedTheWatch) {
  TempDir dir;
  std::string path = probe_path("stkprobe_c");
  auto p = std::make_unique<Probe>(path, std::vector<std::string>{dir.mkdir("a"), dir.mkdir("b")});
  ASSERT_TRUE(p->ready());
  uint32_t pid = p->pid();
  auto adds = adds_of(pid, 2);
  ASSERT_EQ(adds.size(), 2u);
  p.reset();  // exits: its instance closes; a hook sees it, or (tracepoint) the next snapshot
  auto is_rm = [&](const Event& e) {
    return e.type == EventType::Remove && e.instance == adds[0].instance && e.wd == adds[0].wd;
  };
  std::optional<Event> rm;
  if (session_->backend() == Backend::Tracepoint)
    session_->reconcile_now([&](const Event& e) { if (is_rm(e)) rm = e; }, true);
  else
    rm = log_->wait_for(is_rm, std::chrono::seconds(5));
  ASSERT_TRUE(rm);
  EXPECT_EQ(rm->stack.get(), adds[0].stack.get());
}

TEST_F(StacksLive, GoProgramIsNamedThroughItsSymbolTable) { expect_go_stack(probe_path("stkprobe_go")); }

TEST_F(StacksLive, StrippedGoProgramIsNamedThroughGopclntab) { expect_go_stack(probe_path("stkprobe_go_s")); }

}  // namespace
}  // namespace inotrace::testing
