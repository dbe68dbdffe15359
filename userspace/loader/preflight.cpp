#include "loader/preflight.h"

#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdarg>
#include <atomic>
#include <mutex>
#include <string_view>
#include <utility>
#include <vector>

#include "loader/environment.h"
#include "loader/section_handlers.h"
#include "util/error.h"
#include "util/log.h"
#include "util/small_file.h"
#include "loader/program_table.h"

namespace inotrace {

namespace {

std::mutex g_mu;
bool g_verbose = false;
thread_local std::string g_last;  // per thread: the iterator may load beside the tracer
thread_local std::string g_rejected;  // the program whose load the kernel refused last, this thread
std::atomic<bool> g_hooks_installed{false};  // by init_libbpf_logging

// libbpf's line for a program the kernel refused: "libbpf: prog 'NAME': BPF program load failed: ..."
void note_rejected_program(const std::string& line) {
  static constexpr std::string_view kHead = "libbpf: prog '", kTail = "': BPF program load failed";
  if (!line.starts_with(kHead)) return;
  size_t end = line.find(kTail, kHead.size());
  if (end != std::string::npos) g_rejected = line.substr(kHead.size(), end - kHead.size());
}

int libbpf_print(enum libbpf_print_level level, const char* fmt_str, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  va_list copy;
  va_copy(copy, args);
  int n = vsnprintf(nullptr, 0, fmt_str, copy);
  va_end(copy);
  std::string line(n > 0 ? n : 0, '\0');
  if (n > 0) vsnprintf(line.data(), n + 1, fmt_str, args);  // verifier logs are long: keep them whole
  std::lock_guard lock(g_mu);
  if (g_verbose) log_raw(line);
  while (!line.empty() && line.back() == '\n') line.pop_back();
  if (!line.empty()) g_last = line;
  note_rejected_program(line);
  return 0;
}

// What the programs attach to (the program table), and inotify_release, whose address tells
// inotify files apart.
std::vector<std::string> kallsyms_wanted() {
  std::vector<std::string> names = attached_functions();
  names.push_back("inotify_release");
  return names;
}

}  // namespace

void init_libbpf_logging(bool verbose) {
  {
    std::lock_guard lock(g_mu);
    g_verbose = verbose;
  }
  libbpf_set_print(libbpf_print);
  register_section_handlers();  // here: before any second thread uses libbpf
  g_hooks_installed.store(true, std::memory_order_release);
}

void ensure_libbpf_hooks() {
  // Once installed, never again: libbpf_set_print is an unsynchronised write, and another
  // thread may be inside libbpf by now.
  if (g_hooks_installed.load(std::memory_order_acquire)) return;
  init_libbpf_logging(false);
}

std::string last_libbpf_message() {
  std::lock_guard lock(g_mu);
  return g_last;
}

std::string take_rejected_program() { return std::exchange(g_rejected, {}); }

void restore_rejected_program(std::string name) { g_rejected = std::move(name); }

const Kallsyms& KernelFacts::syms() const {
  static std::mutex mu;  // copies of one KernelFacts may ask from two threads (daemon)
  std::lock_guard lock(mu);
  if (syms_) return *syms_;
  auto syms = std::make_shared<Kallsyms>(Kallsyms::load(kallsyms_wanted()));
  if (syms->addresses_hidden())
    throw Error(fmt::format(
        "kernel symbol addresses in /proc/kallsyms read as 0 (kernel.kptr_restrict={}): inotrace "
        "needs CAP_SYSLOG to attach kprobes and to identify inotify objects on this kernel",
        read_small_file("/proc/sys/kernel/kptr_restrict").value_or("?").substr(0, 1)));
  syms_ = std::move(syms);
  return *syms_;
}

KernelFacts preflight(const std::string& custom_btf) {
  auto missing = missing_capabilities();
  if (!missing.empty())
    throw Error(fmt::format(
        "missing privileges: {} (run as root, or grant them: setcap "
        "cap_bpf,cap_perfmon,cap_syslog,cap_dac_read_search+ep inotrace)",
        fmt::join(missing, ", ")));

  KernelFacts facts;
  std::string err;
  auto btf = find_kernel_btf(custom_btf, &err);
  if (!btf) throw Error(err);
  facts.btf_path = *btf;
  facts.custom_btf = custom_btf;

  return facts;
}

}  // namespace inotrace
