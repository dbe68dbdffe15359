#include "loader/kernel_prober.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "loader/environment.h"
#include "loader/kernel_func_ids.h"
#include "util/error.h"
#include "util/unique_fd.h"
#include "util/small_file.h"

namespace inotrace {

namespace {

// r0 = 0; exit
const bpf_insn kReturnZero[] = {
    {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0},
    {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
};

std::string errstr(int err) { return strerror(err < 0 ? -err : err); }

int load_trivial(bpf_prog_type type, bpf_prog_load_opts* opts) {
  return bpf_prog_load(type, "inotrace_probe", "GPL", kReturnZero, 2, opts);
}

int perf_event_open(perf_event_attr* attr) {
  return (int)syscall(SYS_perf_event_open, attr, -1 /* pid */, 0 /* cpu */, -1, PERF_FLAG_FD_CLOEXEC);
}

// Opens the perf event, loads a trivial program of `type` and attaches it: the whole path the
// kprobe backend takes.
ProbeOutcome attach_to_perf_event(ProbeOutcome o, perf_event_attr& attr, bpf_prog_type type) {
  UniqueFd pfd(perf_event_open(&attr));
  if (pfd.get() < 0) return o.detail = fmt::format("perf_event_open: {}", errstr(errno)), o;
  UniqueFd prog(load_trivial(type, nullptr));
  if (prog.get() < 0) return o.detail = fmt::format("load: {}", errstr(errno)), o;
  if (ioctl(pfd.get(), PERF_EVENT_IOC_SET_BPF, prog.get()) < 0)
    return o.detail = fmt::format("attach: {}", errstr(errno)), o;
  o.ok = true;
  o.detail = "attached";
  return o;
}

}  // namespace

KernelProber::KernelProber(const KernelFacts& facts, std::string btf_path, std::string tracefs)
    : facts_(facts), btf_path_(std::move(btf_path)), tracefs_(std::move(tracefs)) {}

KernelProber::~KernelProber() = default;

ProbeOutcome KernelProber::fentry(const std::string& func) {
  ProbeOutcome o{fmt::format("fentry {}", func)};
  int id = -1;
  try {
    id = kernel_func_id(btf_path_, func);  // this boot's cached answer, or a parse
  } catch (const Error& e) {
    return o.detail = e.what(), o;
  }
  if (id < 0) return o.detail = "not in kernel BTF (inlined or absent)", o;
  LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_FENTRY,
              .attach_btf_id = (__u32)id);
  UniqueFd prog(load_trivial(BPF_PROG_TYPE_TRACING, &opts));
  if (prog.get() < 0) return o.detail = fmt::format("load: {}", errstr(errno)), o;
  UniqueFd link(bpf_raw_tracepoint_open(nullptr, prog.get()));
  if (link.get() < 0) return o.detail = fmt::format("attach: {}", errstr(errno)), o;
  o.ok = true;
  o.detail = "attached";
  return o;
}

ProbeOutcome KernelProber::kprobe(const std::string& func) {
  ProbeOutcome o{fmt::format("kprobe {}", func)};
  auto type = read_long_file("/sys/bus/event_source/devices/kprobe/type");
  if (!type) return o.detail = "no kprobe PMU (kernel built without CONFIG_KPROBES?)", o;
  std::optional<KernelSymbol> sym;
  try {
    sym = facts_.syms().entry(func);  // after the PMU check: kallsyms is slow to read
  } catch (const Error& e) {          // addresses hidden (no CAP_SYSLOG): this backend only
    return o.detail = e.what(), o;
  }
  if (!sym) return o.detail = "not in /proc/kallsyms (inlined or absent)", o;
  o.probe = fmt::format("kprobe {}", sym->name);
  perf_event_attr attr{};
  attr.size = sizeof(attr);
  attr.type = (uint32_t)*type;
  attr.config1 = reinterpret_cast<uint64_t>(sym->name.c_str());  // kprobe_func
  attr.config2 = 0;                                               // offset
  return attach_to_perf_event(o, attr, BPF_PROG_TYPE_KPROBE);
}

ProbeOutcome KernelProber::syscall_tracepoint(const std::string& name) {
  ProbeOutcome o{fmt::format("tracepoint syscalls/{}", name)};
  auto id = read_long_file(fmt::format("{}/events/syscalls/{}/id", tracefs_, name));
  if (!id) return o.detail = "no such tracepoint (kernel without CONFIG_FTRACE_SYSCALLS?)", o;
  // No trial attach: closing a perf event on a syscall tracepoint waits for RCU (19 ms here;
  // 48 ms with a program attached), and the tracepoint backend is the last resort, so a
  // failing attach has nothing to fall back to: the tracer's own attach reports it.
  if (!tracepoint_loads_) {
    UniqueFd prog(load_trivial(BPF_PROG_TYPE_TRACEPOINT, nullptr));
    if (prog.get() < 0) return o.detail = fmt::format("load: {}", errstr(errno)), o;
    tracepoint_loads_ = true;
  }
  o.ok = true;
  o.detail = "exists; a tracepoint program loads";
  return o;
}

}  // namespace inotrace
