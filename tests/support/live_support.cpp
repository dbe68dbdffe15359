#include "support/live_support.h"

#include <bpf/btf.h>
#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "loader/backend.h"
#include "loader/environment.h"
#include "util/small_file.h"

namespace inotrace::testing {

TempDir::TempDir(const std::string& prefix) {
  std::string tmpl = fmt::format("/tmp/{}.XXXXXX", prefix);
  char* p = mkdtemp(tmpl.data());
  if (!p) throw std::runtime_error("mkdtemp failed");
  path_ = p;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::mkdir(const std::string& name) const {
  std::string p = sub(name);
  if (::mkdir(p.c_str(), 0755) != 0 && errno != EEXIST) throw std::runtime_error("mkdir " + p);
  return p;
}

std::string TempDir::touch(const std::string& name) const {
  std::string p = sub(name);
  std::ofstream(p) << "x";
  return p;
}

SysctlGuard::SysctlGuard(std::string path, long long value) : path_(std::move(path)) {
  auto old = read_long_file(path_);
  if (!old) throw std::runtime_error("cannot read " + path_);
  old_ = *old;
  std::string err;
  if (!write_long_file(path_, value, &err)) throw std::runtime_error(err);
}

SysctlGuard::~SysctlGuard() { write_long_file(path_, old_, nullptr); }

Target stat_target(const std::string& path) {
  struct stat st{};
  if (stat(path.c_str(), &st) != 0) throw std::runtime_error("stat " + path);
  return Target{st.st_ino, KernelDev::from_st_dev(st.st_dev)};
}

EventLog::EventLog(Tracer& t) {
  poll_ = [this, &t](int ms, const std::function<void(const Event&)>& cb) {
    t.poll(ms, [&](const Event& ev) {
      Event copy = ev;
      completer_.complete(copy);
      cb(copy);
    });
  };
  drain_ = [&t] { t.drain([](const Event&) {}); };
}

EventLog::EventLog(TraceSession& s) {
  poll_ = [&s](int ms, const std::function<void(const Event&)>& cb) { s.poll(ms, cb); };
  drain_ = [&s] { s.drain([](const Event&) {}); };
}

void EventLog::poll_once(int timeout_ms) {
  poll_(timeout_ms, [&](const Event& ev) { events_.push_back(ev); });
}

void EventLog::drain() {
  drain_();
  events_.clear();
}

std::optional<Event> EventLog::wait_for(const std::function<bool(const Event&)>& pred,
                                        std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  size_t checked = 0;
  while (true) {
    for (; checked < events_.size(); checked++)
      if (pred(events_[checked])) return events_[checked];
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    poll_once(50);
  }
}

std::optional<Event> instance_created(EventLog& log, int fd) {
  const uint32_t self = getpid();
  return log.wait_for(
      [&](const Event& e) { return e.type == EventType::InstanceCreate && e.fd == fd && e.task.pid == self; });
}

std::vector<Event> EventLog::collect(const std::function<bool(const Event&)>& pred,
                                     std::chrono::milliseconds window) {
  auto deadline = std::chrono::steady_clock::now() + window;
  while (std::chrono::steady_clock::now() < deadline) poll_once(50);
  std::vector<Event> out;
  for (const auto& e : events_)
    if (pred(e)) out.push_back(e);
  return out;
}

TracerOptions test_tracer_options(std::optional<uint32_t> pid) {
  TracerOptions o;
  o.filters.pid = pid;
  o.ringbuf_bytes = 1u << 20;
  // The kernel-matrix harness runs the suite once per backend; a forced backend the kernel
  // lacks makes the Tracer throw, which fails the tests (never a silent fallback).
  if (const char* b = getenv("INOTRACE_TEST_BACKEND"); b && *b && std::string(b) != "auto") {
    o.backend = parse_backend(b);
    if (!o.backend) throw std::runtime_error(std::string("INOTRACE_TEST_BACKEND: unknown backend ") + b);
  }
  return o;
}

bool kernel_struct_has_member(const char* type_name, const char* member) {
  btf* kbtf = btf__load_vmlinux_btf();
  if (!kbtf) return false;
  bool found = false;
  int id = btf__find_by_name_kind(kbtf, type_name, BTF_KIND_STRUCT);
  if (id > 0) {
    const btf_type* t = btf__type_by_id(kbtf, id);
    const btf_member* m = btf_members(t);
    for (int i = 0; i < btf_vlen(t); i++)
      if (std::string_view(btf__name_by_offset(kbtf, m[i].name_off)) == member) found = true;
  }
  btf__free(kbtf);
  return found;
}

std::string read_sysctl_string(const std::string& path) {
  return read_small_file(path).value_or("");
}

}  // namespace inotrace::testing
