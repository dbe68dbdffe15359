#include "loader/tracer.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "events/decode.h"
#include "inotrace_bpf.skel.h"
#include "loader/environment.h"
#include "loader/kallsyms.h"
#include "loader/kernel_prober.h"
#include "loader/preflight.h"
#include "util/error.h"

namespace inotrace {

namespace {

constexpr useconds_t kBatchWindowUs = 1000;  // see Tracer::poll

std::string_view program_backend_prefix(Backend b) {
  switch (b) {
    case Backend::Fentry: return "fe_";
    case Backend::Kprobe: return "kp_";
    case Backend::Tracepoint: return "tp_";
  }
  return "";
}

// Programs a kernel may legitimately lack: inotify_init (absent on arm64/riscv) and
// security_path_notify (5.3+, CONFIG_SECURITY); without the latter, adds carry the user path.
bool optional_program(std::string_view name) {
  return name.ends_with("_enter_init") || name.ends_with("_exit_init") || name.ends_with("_path_notify");
}

// kprobe programs are attached by hand to the exact kallsyms symbol of their function.
struct KprobeTarget {
  std::string_view program;
  const char* function;
  bool retprobe;
};
constexpr KprobeTarget kKprobeTargets[] = {
    {"kp_path_notify", "security_path_notify", false},
    {"kp_enter_add_mark_locked", "fsnotify_add_mark_locked", false},
    {"kp_exit_add_mark_locked", "fsnotify_add_mark_locked", true},
    {"kp_freeing_mark", "inotify_freeing_mark", false},
    {"kp_enter_destroy_group", "fsnotify_destroy_group", false},
    {"kp_exit_destroy_group", "fsnotify_destroy_group", true},
};

const KprobeTarget* kprobe_target(std::string_view program) {
  for (const auto& t : kKprobeTargets)
    if (t.program == program) return &t;
  return nullptr;
}

// fentry programs that read a syscall wrapper's pt_regs need the kernel's BTF to type that
// pointer as a struct; Debian 5.10's declares it as a forward and the verifier refuses.
bool btf_types_syscall_regs(const btf* kbtf, const char* wrapper) {
  int id = btf__find_by_name_kind(kbtf, wrapper, BTF_KIND_FUNC);
  if (id < 0) return false;
  const btf_type* proto = btf__type_by_id(kbtf, btf__type_by_id(kbtf, id)->type);
  if (!proto || !btf_is_func_proto(proto) || btf_vlen(proto) < 1) return false;
  const btf_type* arg = btf__type_by_id(kbtf, btf_params(proto)[0].type);
  while (arg && (btf_is_mod(arg) || btf_is_typedef(arg))) arg = btf__type_by_id(kbtf, arg->type);
  if (!arg || !btf_is_ptr(arg)) return false;
  const btf_type* target = btf__type_by_id(kbtf, arg->type);
  while (target && (btf_is_mod(target) || btf_is_typedef(target))) target = btf__type_by_id(kbtf, target->type);
  return target && btf_is_struct(target);
}

// "fentry/inotify_freeing_mark" -> "inotify_freeing_mark"
std::string section_target(bpf_program* prog) {
  std::string_view sec = bpf_program__section_name(prog);
  size_t slash = sec.find('/');
  return slash == std::string_view::npos ? std::string() : std::string(sec.substr(slash + 1));
}

}  // namespace

uint32_t checked_ringbuf_size(uint64_t bytes) {
  long page = sysconf(_SC_PAGESIZE);
  if (bytes < (uint64_t)page || bytes > (1ull << 30) || (bytes & (bytes - 1)))
    throw Error(fmt::format("ring buffer size {} must be a power of two between {} and 1 GiB", bytes, page));
  return (uint32_t)bytes;
}

struct Tracer::Impl {
  inotrace_bpf* skel = nullptr;
  ring_buffer* rb = nullptr;
  std::vector<bpf_link*> links;
  BackendChoice choice;
  const Callback* cb = nullptr;
  uint64_t decode_errors = 0;
  std::string last_decode_error;
  bool syscall_args = true;
  KernelFacts facts;

  ~Impl() {
    ring_buffer__free(rb);
    for (auto* l : links) bpf_link__destroy(l);
    inotrace_bpf__destroy(skel);
  }

  static int on_record(void* ctx, void* data, size_t size) {
    auto* self = static_cast<Impl*>(ctx);
    DecodeError err;
    auto ev = decode_event(data, size, &err);
    if (!ev) {
      self->decode_errors++;
      self->last_decode_error = err.message;
      return 0;
    }
    (*self->cb)(*ev);
    return 0;
  }
};

Tracer::Tracer(const TracerOptions& opts) : impl_(std::make_unique<Impl>()) {
  auto log = [&](const std::string& s) {
    if (opts.log) opts.log(s);
  };
  init_libbpf_logging(opts.verbose);
  impl_->facts = preflight(opts.btf_path);
  const KernelFacts& facts = impl_->facts;

  std::string err;
  bool mounted = false;
  auto tracefs = ensure_tracefs(&err, &mounted);
  if (!tracefs) throw Error(err);
  if (mounted) log(fmt::format("mounted tracefs at {}", *tracefs));

  KernelProber prober(facts.syms, facts.btf_path, *tracefs);
  impl_->choice = choose_backend(opts.backend, prober, {Backend::Fentry, Backend::Kprobe, Backend::Tracepoint});
  if (opts.verbose)
    for (const auto& p : impl_->choice.probes)
      log(fmt::format("probe {:<45} {}", p.probe, p.ok ? "ok" : "FAILED: " + p.detail));
  log(fmt::format("backend {}: {}", backend_name(impl_->choice.backend), impl_->choice.why));

  LIBBPF_OPTS(bpf_object_open_opts, open_opts);
  if (!opts.btf_path.empty()) open_opts.btf_custom_path = opts.btf_path.c_str();
  impl_->skel = inotrace_bpf__open_opts(&open_opts);
  if (!impl_->skel) throw Error(fmt::format("cannot open the BPF object: {}", strerror(errno)));
  auto* skel = impl_->skel;

  auto* ro = skel->rodata;
  ro->inotify_release_addr = facts.inotify_release;
  ro->inotify_freeing_mark_addr = facts.inotify_freeing_mark;
  if (opts.filters.pid) ro->filter_pid = *opts.filters.pid;
  if (opts.filters.uid) ro->filter_uid_enabled = true, ro->filter_uid = *opts.filters.uid;
  if (opts.filters.cgroup_id) ro->filter_cgroup_id = *opts.filters.cgroup_id;
  if (opts.filters.comm) {
    if (opts.filters.comm->size() >= INOTRACE_COMM_LEN)
      throw Error(fmt::format("--comm '{}' is longer than the kernel's {}-byte comm", *opts.filters.comm,
                              INOTRACE_COMM_LEN - 1));
    ro->filter_comm_enabled = true;
    std::memset((void*)ro->filter_comm, 0, sizeof(ro->filter_comm));
    std::memcpy((void*)ro->filter_comm, opts.filters.comm->data(), opts.filters.comm->size());
  }
  bpf_map__set_max_entries(skel->maps.events, checked_ringbuf_size(opts.ringbuf_bytes));

  Backend backend = impl_->choice.backend;
  std::string_view prefix = program_backend_prefix(backend);
  btf* vmlinux_btf = backend == Backend::Fentry ? btf__parse(facts.btf_path.c_str(), nullptr) : nullptr;
  impl_->syscall_args = backend != Backend::Fentry ||
                        (vmlinux_btf && btf_types_syscall_regs(vmlinux_btf, "__x64_sys_inotify_add_watch"));
  if (!impl_->syscall_args)
    log("fentry: this kernel's BTF does not type the syscall wrappers' pt_regs: adds are reported "
        "from inotify_update_watch, without the fd and without failures that happen before it "
        "(ENOENT, EACCES, EINVAL)");
  bpf_program* prog;
  bpf_object__for_each_program(prog, skel->obj) {
    std::string_view name = bpf_program__name(prog);
    bool wanted = name.starts_with(prefix);
    if (name.ends_with("_syscall_args")) wanted = wanted && impl_->syscall_args;
    if (name.ends_with("_no_args")) wanted = wanted && !impl_->syscall_args;
    // A trampoline target must be a function in the kernel's BTF (not inlined).
    if (wanted && backend == Backend::Fentry) {
      std::string target = section_target(prog);
      if (!vmlinux_btf || btf__find_by_name_kind(vmlinux_btf, target.c_str(), BTF_KIND_FUNC) < 0) {
        if (!optional_program(name)) {
          btf__free(vmlinux_btf);
          throw Error(fmt::format("fentry backend: {} is not in this kernel's BTF", target));
        }
        log(fmt::format("fentry {}: skipped ({} not in kernel BTF)", name, target));
        wanted = false;
      }
    }
    if (wanted && backend == Backend::Kprobe) {
      const KprobeTarget* t = kprobe_target(name);
      if (t && !facts.syms.entry(t->function)) {
        if (!optional_program(name))
          throw Error(fmt::format("kprobe backend: {} is not in /proc/kallsyms", t->function));
        log(fmt::format("kprobe {}: skipped ({} not in kallsyms)", name, t->function));
        wanted = false;
      }
    }
    bpf_program__set_autoload(prog, wanted);
  }
  btf__free(vmlinux_btf);
  if (int e = inotrace_bpf__load(skel))
    throw Error(fmt::format("loading the BPF programs failed: {} (libbpf: {}); run with -v for the verifier log",
                            strerror(-e), last_libbpf_message()));

  bpf_object__for_each_program(prog, skel->obj) {
    std::string_view name = bpf_program__name(prog);
    if (!bpf_program__autoload(prog)) continue;
    bpf_link* link = nullptr;
    std::string where = section_target(prog);
    if (const KprobeTarget* t = kprobe_target(name)) {
      auto sym = facts.syms.entry(t->function);
      where = sym->name;
      link = bpf_program__attach_kprobe(prog, t->retprobe, sym->name.c_str());
    } else {
      link = bpf_program__attach(prog);
    }
    if (!link) {
      int e = errno;
      if (optional_program(name)) {
        log(fmt::format("attach {}: skipped ({})", name, strerror(e)));
        continue;
      }
      throw Error(fmt::format("attaching {} failed: {} (libbpf: {})", name, strerror(e), last_libbpf_message()));
    }
    impl_->links.push_back(link);
    if (opts.verbose) log(fmt::format("attach {:<28} {:<34} ok", name, where));
  }

  impl_->rb = ring_buffer__new(bpf_map__fd(skel->maps.events), Impl::on_record, impl_.get(), nullptr);
  if (!impl_->rb) throw Error(fmt::format("cannot open the ring buffer: {}", strerror(errno)));
}

Tracer::~Tracer() = default;

Backend Tracer::backend() const { return impl_->choice.backend; }
bool Tracer::reports_syscall_args() const { return impl_->syscall_args; }
const KernelFacts& Tracer::facts() const { return impl_->facts; }
const BackendChoice& Tracer::choice() const { return impl_->choice; }
const std::string& Tracer::last_decode_error() const { return impl_->last_decode_error; }

int Tracer::wait_fd() const { return ring_buffer__epoll_fd(impl_->rb); }

int Tracer::poll(int timeout_ms, const Callback& cb) {
  impl_->cb = &cb;
  int n = ring_buffer__poll(impl_->rb, timeout_ms);
  impl_->cb = nullptr;
  if (n == -EINTR) return 0;
  if (n < 0) throw Error(fmt::format("reading the ring buffer failed: {}", strerror(-n)));
  // The kernel wakes a consumer that has caught up, once per record: an irq_work in the traced
  // syscall and an epoll round trip here for every event (bench c). Once records flow, let them
  // gather for a millisecond so that one wakeup serves a batch; the default ring buffer holds
  // ~0.4 s of one core's full rate, so this costs at most 1 ms of latency and no drops.
  if (n > 0) usleep(kBatchWindowUs);
  return n;
}

int Tracer::drain(const Callback& cb) {
  impl_->cb = &cb;
  int n = ring_buffer__consume(impl_->rb);
  impl_->cb = nullptr;
  return n < 0 ? 0 : n;
}

TracerCounters Tracer::counters() const {
  TracerCounters c;
  c.decode_errors = impl_->decode_errors;
  int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return c;
  std::vector<uint64_t> values(ncpu);
  auto sum = [&](uint32_t key) {
    uint64_t total = 0;
    if (bpf_map_lookup_elem(bpf_map__fd(impl_->skel->maps.counters), &key, values.data()) == 0)
      for (auto v : values) total += v;
    return total;
  };
  c.ringbuf_drops = sum(INOTRACE_CNT_RINGBUF_DROPS);
  c.pending_full = sum(INOTRACE_CNT_PENDING_FULL);
  c.group_unresolved = sum(INOTRACE_CNT_GROUP_UNRESOLVED);
  return c;
}

}  // namespace inotrace
