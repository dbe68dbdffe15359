// Helpers for the root-only test tiers: temporary directories, sysctl limits restored even
// when a test fails, and waiting for events from a real Tracer.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "events/event.h"
#include "loader/tracer.h"
#include "paths/event_paths.h"
#include "session/trace_session.h"

namespace inotrace::testing {

// Skips (by name, visibly) when the process cannot load BPF. CI runs as root, so there the
// live tier always runs.
#define INOTRACE_REQUIRE_ROOT()                                                         \
  do {                                                                                  \
    if (geteuid() != 0) GTEST_SKIP() << "SKIPPED (live tier): needs root to load BPF";  \
  } while (0)

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "inotrace-test");
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }
  // mkdir of path()/name, returns the full path.
  std::string mkdir(const std::string& name) const;
  std::string touch(const std::string& name) const;

 private:
  std::string path_;
};

// Sets a /proc/sys value for the guard's lifetime and restores the old one in the destructor
// (which runs when an ASSERT fails, since gtest returns from the test body).
class SysctlGuard {
 public:
  SysctlGuard(std::string path, long long value);
  ~SysctlGuard();
  long long old_value() const { return old_; }

 private:
  std::string path_;
  long long old_;
};

struct Target {
  uint64_t ino;
  KernelDev dev;
};
Target stat_target(const std::string& path);

// Pulls events from a tracer into a list (with their paths completed as `inotrace trace`
// shows them) and waits for ones matching a predicate.
class EventLog {
 public:
  using Poller = std::function<void(int timeout_ms, const std::function<void(const Event&)>&)>;
  explicit EventLog(Tracer& t);
  explicit EventLog(TraceSession& s);  // the session completes paths itself
  void drain();  // forget what is buffered now
  // Waits up to `timeout` for an event matching pred (among those seen since the last
  // clear); returns it.
  std::optional<Event> wait_for(const std::function<bool(const Event&)>& pred,
                                std::chrono::milliseconds timeout = std::chrono::seconds(3));
  // Collects for `window`, then returns every event matching pred.
  std::vector<Event> collect(const std::function<bool(const Event&)>& pred,
                             std::chrono::milliseconds window = std::chrono::milliseconds(300));
  const std::vector<Event>& all() const { return events_; }
  void clear() { events_.clear(); }

 private:
  void poll_once(int timeout_ms);
  Poller poll_;
  std::function<void()> drain_;
  ProcNodeView node_;
  EventPathCompleter completer_{node_};
  std::vector<Event> events_;
};

// The create record of the instance this process opened as `fd`.
std::optional<Event> instance_created(EventLog& log, int fd);

// A cgroup directory chain top/.../leaf made for a test (a private subtree: no other test's
// kubepods detection sees it), removed leaf first when the test ends, pass or fail.
class CgroupDirs {
 public:
  explicit CgroupDirs(std::string leaf) : leaf_(std::move(leaf)) {}
  ~CgroupDirs() {
    for (std::string d = leaf_; d.size() > top_.size(); d = d.substr(0, d.rfind('/'))) rmdir(d.c_str());
    if (!top_.empty()) rmdir(top_.c_str());
  }
  bool make(const std::string& top) {
    top_ = top;
    std::error_code ec;
    return std::filesystem::create_directories(leaf_, ec) || std::filesystem::is_directory(leaf_);
  }

 private:
  std::string leaf_, top_;
};

// Tracer options for tests: quiet, pid filter if given.
TracerOptions test_tracer_options(std::optional<uint32_t> pid = std::nullopt);

std::string read_sysctl_string(const std::string& path);

// Whether the running kernel's BTF has `member` in `struct type_name` (for assertions on
// fields only some kernels have, e.g. cred->ucounts since 5.14).
bool kernel_struct_has_member(const char* type_name, const char* member);

}  // namespace inotrace::testing
