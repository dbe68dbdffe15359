#include "loader/environment.h"
#include "loader/kernel_btf.h"
#include "util/small_file.h"

#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace inotrace {

namespace {

constexpr int kCapPerfmon = 38;
constexpr int kCapBpf = 39;

bool has_cap(const __user_cap_data_struct data[2], int cap) {
  return data[cap / 32].effective & (1u << (cap % 32));
}

bool exists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}

}  // namespace

std::vector<std::string> missing_capabilities() {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (syscall(SYS_capget, &hdr, data) != 0) return {"(capget failed: cannot read capabilities)"};
  if (has_cap(data, CAP_SYS_ADMIN)) return {};
  std::vector<std::string> missing;
  if (!has_cap(data, kCapBpf)) missing.push_back("CAP_BPF");
  if (!has_cap(data, kCapPerfmon)) missing.push_back("CAP_PERFMON");
  return missing;
}

std::optional<std::string> find_kernel_btf(const std::string& custom, std::string* error) {
  if (!custom.empty()) {
    if (access(custom.c_str(), R_OK) == 0) return custom;
    *error = fmt::format("cannot read BTF file {}: {}", custom, strerror(errno));
    return std::nullopt;
  }
  const std::string sys = kRunningKernelBtf;
  if (access(sys.c_str(), R_OK) == 0) return sys;
  *error = fmt::format(
      "kernel BTF not found at {} ({}): this kernel was built without CONFIG_DEBUG_INFO_BTF; "
      "pass --btf FILE with BTF for this exact kernel", sys, strerror(errno));
  return std::nullopt;
}

std::optional<std::string> ensure_tracefs(std::string* error, bool* mounted_now) {
  *mounted_now = false;
  for (const char* root : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"})
    if (exists(std::string(root) + "/events")) return std::string(root);
  const std::string root = "/sys/kernel/tracing";
  if (mount("tracefs", root.c_str(), "tracefs", 0, nullptr) == 0 && exists(root + "/events")) {
    *mounted_now = true;
    return root;
  }
  *error = fmt::format(
      "tracefs is not mounted and mounting it at {} failed ({}); mount it with "
      "`mount -t tracefs tracefs {}`", root, strerror(errno), root);
  return std::nullopt;
}

namespace {
// Whether `release` (as uname prints it; empty: this kernel's) is at least want_major.want_minor;
// false when it cannot be read (the callers' safe answer).
bool release_at_least(const std::string& release, unsigned want_major, unsigned want_minor) {
  std::string r = release;
  if (r.empty()) {
    struct utsname u {};
    if (uname(&u) != 0) return false;
    r = u.release;
  }
  unsigned major = 0, minor = 0;
  if (std::sscanf(r.c_str(), "%u.%u", &major, &minor) != 2) return false;
  return major > want_major || (major == want_major && minor >= want_minor);
}
}  // namespace

bool kernel_allocates_in_tracing_programs(const std::string& release) { return release_at_least(release, 6, 1); }

bool kernel_task_storage_suits_tracing(const std::string& release) { return release_at_least(release, 6, 4); }

std::optional<bool> in_initial_pid_namespace(std::string* error) {
  constexpr uint64_t kInitPidNsIno = 0xEFFFFFFCu;  // PROC_PID_INIT_INO, include/linux/proc_ns.h
  struct stat st;
  if (stat("/proc/self/ns/pid", &st) != 0) {
    if (error) *error = fmt::format("cannot stat /proc/self/ns/pid: {}", strerror(errno));
    return std::nullopt;
  }
  return st.st_ino == kInitPidNsIno;
}

bool kernel_has_bpf_loop() {
  static const bool has = libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_loop, nullptr) == 1;
  return has;
}

}  // namespace inotrace
