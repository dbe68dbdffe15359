#include "loader/section_handlers.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "loader/kernel_btf.h"
#include "loader/kernel_func_ids.h"
#include "loader/preflight.h"
#include "loader/typed_reads.h"
#include "util/log.h"

namespace inotrace {

namespace {

constexpr const char* kIterSection = "iter/task_file";
constexpr std::string_view kSyscallTracepoints = "tracepoint/syscalls/";
std::atomic<int> g_task_file_target{0};

int task_file_target() {
  if (int id = g_task_file_target.load(std::memory_order_acquire)) return id;
  try {
    if (int id = kernel_func_id(kRunningKernelBtf, "bpf_iter_task_file"); id > 0)
      g_task_file_target.store(id, std::memory_order_release);
    return g_task_file_target.load(std::memory_order_acquire);
  } catch (const std::exception&) {
    // No sysfs BTF here (a container that hides it): where libbpf's own handler looked next,
    // /boot/vmlinux-$(uname -r) and the debug-info paths.
    std::unique_ptr<btf, decltype(&btf__free)> found(btf__load_vmlinux_btf(), btf__free);
    int id = found ? btf__find_by_name_kind(found.get(), "bpf_iter_task_file", BTF_KIND_FUNC) : -1;
    if (id > 0) g_task_file_target.store(id, std::memory_order_release);
  }
  return g_task_file_target.load(std::memory_order_acquire);
}

// This thread's TypedCastsAtLoad: the kfunc (0 outside one) and why a link failed.
struct TypedCastScope {
  int cast_func = 0;
  std::string link_failure;
};
thread_local TypedCastScope t_typed_casts;

// No exception may leave: libbpf's C frames are above.
int link_scoped_typed_casts(bpf_program* prog) noexcept {
  try {
    const bpf_insn* insns = bpf_program__insns(prog);
    if (std::none_of(insns, insns + bpf_program__insn_cnt(prog), is_typed_cast)) return 0;
    if (t_typed_casts.cast_func <= 0) {
      t_typed_casts.link_failure = fmt::format("{}: typed casts, but no kfunc to link them to", bpf_program__name(prog));
      return -EINVAL;
    }
    link_typed_casts(prog, t_typed_casts.cast_func);
    return 0;
  } catch (const std::exception& e) {
    try {
      t_typed_casts.link_failure = e.what();
    } catch (...) {
    }
    return -EINVAL;
  }
}

// At the load: the iterator it is. libbpf reads the program's type after this.
int prepare_task_file_iter(bpf_program* prog, bpf_prog_load_opts* opts, long /*cookie*/) {
  if (int e = link_scoped_typed_casts(prog)) return e;
  int target = task_file_target();
  if (target <= 0) {
    log_line("cannot find bpf_iter_task_file in the kernel's BTF (/sys/kernel/btf/vmlinux, or a vmlinux "
             "libbpf knows where to find): BPF iterators need a kernel with BTF");
    return -ENOENT;
  }
  opts->attach_btf_id = target;
  opts->expected_attach_type = BPF_TRACE_ITER;
  return bpf_program__set_type(prog, BPF_PROG_TYPE_TRACING);  // allowed: the object is not loaded yet
}

int prepare_syscall_tracepoint(bpf_program* prog, bpf_prog_load_opts* /*opts*/, long /*cookie*/) {
  return link_scoped_typed_casts(prog);
}

// What libbpf's own handler of the section does: the tracepoint its name says.
int attach_syscall_tracepoint(const bpf_program* prog, long /*cookie*/, bpf_link** link) {
  std::string_view name = bpf_program__section_name(prog);
  name.remove_prefix(kSyscallTracepoints.size());
  *link = bpf_program__attach_tracepoint(prog, "syscalls", std::string(name).c_str());
  return libbpf_get_error(*link);
}

}  // namespace

TypedCastsAtLoad::TypedCastsAtLoad(int cast_func) : outer_cast_func_(t_typed_casts.cast_func) {
  t_typed_casts.cast_func = cast_func;
  outer_failure_.swap(t_typed_casts.link_failure);
  outer_rejected_ = take_rejected_program();
}

TypedCastsAtLoad::~TypedCastsAtLoad() {
  t_typed_casts.cast_func = outer_cast_func_;
  t_typed_casts.link_failure.swap(outer_failure_);
  restore_rejected_program(std::move(outer_rejected_));
}

const std::string& TypedCastsAtLoad::link_failure() const { return t_typed_casts.link_failure; }

void TypedCastsAtLoad::throw_if_typed_refused(int err, const std::vector<std::string>& typed_programs,
                                              const std::string& libbpf) const {
  if (t_typed_casts.cast_func <= 0) return;  // no typed programs in this load
  if (!t_typed_casts.link_failure.empty())
    throw TypedLoadRefused(fmt::format("the typed-read programs' casts could not be linked: {}", t_typed_casts.link_failure));
  const std::string rejected = take_rejected_program();
  if (std::find(typed_programs.begin(), typed_programs.end(), rejected) != typed_programs.end())
    throw TypedLoadRefused(fmt::format("the typed-read program {} did not load: {} (libbpf: {}; -v for the verifier's log)",
                                       rejected, strerror(-err), libbpf));
}

void register_section_handlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    // On failure (no memory) libbpf's own handlers stay: the iterators slower, not wrong; the
    // typed programs refused for their unlinked casts, and the probed ones loaded instead.
    LIBBPF_OPTS(libbpf_prog_handler_opts, iter, .prog_prepare_load_fn = prepare_task_file_iter);
    libbpf_register_prog_handler(kIterSection, BPF_PROG_TYPE_RAW_TRACEPOINT, BPF_TRACE_ITER, &iter);
    LIBBPF_OPTS(libbpf_prog_handler_opts, tp, .prog_prepare_load_fn = prepare_syscall_tracepoint,
                .prog_attach_fn = attach_syscall_tracepoint);
    libbpf_register_prog_handler(std::string(kSyscallTracepoints).c_str(), BPF_PROG_TYPE_TRACEPOINT, static_cast<bpf_attach_type>(0), &tp);
  });
}

}  // namespace inotrace
