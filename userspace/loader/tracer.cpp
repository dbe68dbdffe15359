#include "loader/tracer.h"

#include <absl/cleanup/cleanup.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unordered_set>
#include <thread>
#include <vector>

#include "events/decode.h"
#include "inotrace_bpf.skel.h"
#include "loader/core_btf.h"
#include "loader/start_up_cache.h"
#include "loader/early_maps.h"
#include "loader/kernel_btf.h"
#include "loader/environment.h"
#include "loader/inotify_identity.h"
#include "loader/kallsyms.h"
#include "loader/program_table.h"
#include "loader/ring_wakeups.h"
#include "loader/section_handlers.h"
#include "loader/typed_reads.h"
#include "loader/kernel_prober.h"
#include "loader/preflight.h"
#include "util/boot_cache.h"
#include "util/error.h"

namespace inotrace {

namespace {

constexpr useconds_t kBatchWindowUs = 1000;  // see Tracer::poll

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

// Why this kernel cannot run `spec`, or nullopt: a trampoline target must be a function in the
// kernel's BTF (not inlined); a kprobe attached by hand needs the function in kallsyms.
std::optional<std::string> missing_target(const ProgramSpec& spec, const btf* kbtf, const KernelFacts& facts) {
  std::string target(spec.target);
  if (spec.backend == Backend::Fentry && (!kbtf || btf__find_by_name_kind(kbtf, target.c_str(), BTF_KIND_FUNC) < 0))
    return fmt::format("{} is not in this kernel's BTF", target);
  if ((spec.attach == Attach::Kprobe || spec.attach == Attach::Kretprobe) && !facts.syms().entry(target))
    return fmt::format("{} is not in /proc/kallsyms", target);
  return std::nullopt;
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
  std::unique_ptr<RingWakeups> wakeups;  // the consumer asks the programs to wake it (ring_wakeups.h)
  std::vector<bpf_link*> links;
  BackendChoice choice;
  const Callback* cb = nullptr;
  int last_drained = -1;  // records the last drain() read; -1: none yet
  Event scratch;  // each record is decoded into it: its buffers are reused (poll is not reentrant)
  uint64_t decode_errors = 0;
  std::string last_decode_error;
  bool syscall_args = true;
  bool looped_walks = false;  // bpf_loop (5.17+): the NameWalks::Looped twins load
  std::optional<TypedReadIds> typed;  // the Reads::Typed variants load (loader/typed_reads.h)
  bool maps_on_demand = false;  // group_seqs and pending allocate on demand (TracerOptions::dead_groups_collected)
  KernelFacts facts;
  InotifyIdentity identity;
  KernelBtfPtr start_btf;  // one parse of the kernel's BTF from the probe to the CoreBtf and program choice

  ~Impl() {
    ring_buffer__free(rb);
    destroy_links();
    inotrace_bpf__destroy(skel);
  }

  // Closing a tracepoint's perf event waits for its grace periods (the kernel's
  // tracepoint_synchronize_unregister: ~50 ms apiece on this 2-core VM; seven links one after
  // another made Ctrl-C take 0.4 s). Released on threads of their own, the waits overlap.
  void destroy_links() {
    std::vector<std::thread> threads;
    for (auto* l : links) {
      try {
        threads.emplace_back(bpf_link__destroy, l);
      } catch (...) {  // no thread to be had: this one waits its turn
        bpf_link__destroy(l);
      }
    }
    for (auto& t : threads) t.join();
    links.clear();
  }

  using Log = std::function<void(const std::string&)>;

  // The chosen backend's programs that this kernel can run, set to load; every other one off.
  std::vector<const ProgramSpec*> choose_programs(Backend backend, const btf* kbtf, const Log& log) {
    bpf_program* prog;
    bpf_object__for_each_program(prog, skel->obj) bpf_program__set_autoload(prog, false);
    bpf_program__set_autoload(skel->progs.identify_inotify, true);  // run once after load, never attached
    std::vector<const ProgramSpec*> chosen;
    for (const ProgramSpec& spec : program_table()) {
      if (spec.backend != backend) continue;
      if ((spec.args == SyscallArgs::Typed && !syscall_args) || (spec.args == SyscallArgs::Untyped && syscall_args)) continue;
      if (!loads_with(spec.walks, spec.reads, looped_walks, typed.has_value())) continue;
      if (auto missing = missing_target(spec, kbtf, facts)) {
        if (spec.need == Need::Required) throw Error(fmt::format("{} backend: {}", backend_name(backend), *missing));
        log(fmt::format("{} {}: skipped ({})", backend_name(backend), spec.name, *missing));
        continue;
      }
      bpf_program__set_autoload(skel->progs.*spec.program, true);
      chosen.push_back(&spec);
    }
    return chosen;
  }

  void attach(const ProgramSpec& spec, bool verbose, const Log& log) {
    bpf_program* prog = skel->progs.*spec.program;
    std::string where(spec.target);
    bpf_link* link = nullptr;
    if (spec.attach == Attach::BySection) {
      link = bpf_program__attach(prog);
    } else if (spec.attach == Attach::SyscallTracepoint) {
      link = bpf_program__attach_tracepoint(prog, "syscalls", where.c_str());
    } else {
      where = facts.syms().entry(std::string(spec.target))->name;  // the exact name: a .isra clone counts
      link = bpf_program__attach_kprobe(prog, spec.attach == Attach::Kretprobe, where.c_str());
    }
    if (!link) {
      int e = errno;
      if (spec.need == Need::Optional) {
        log(fmt::format("attach {} to {}: skipped ({})", spec.name, where, strerror(e)));
        return;
      }
      throw Error(fmt::format("attaching {} failed: {} (libbpf: {})", spec.name, strerror(e), last_libbpf_message()));
    }
    links.push_back(link);
    if (verbose) log(fmt::format("attach {:<28} {:<34} ok", spec.name, where));
  }

  static int on_record(void* ctx, void* data, size_t size) {
    auto* self = static_cast<Impl*>(ctx);
    DecodeError err;
    if (!decode_event_into(data, size, self->scratch, &err)) {
      self->decode_errors++;
      self->last_decode_error = err.message;
      return 0;
    }
    (*self->cb)(self->scratch);
    return 0;
  }
};

namespace {

// Every entry of the instances' sequence map, read without locks: entries written meanwhile
// may be missed or seen, which both callers allow for.
struct GroupEntry {
  uint64_t group;
  inotrace_group_info info;
};

std::vector<GroupEntry> group_entries(int fd) {
  std::vector<GroupEntry> entries;
  uint64_t key = 0, next = 0;
  const uint64_t* prev = nullptr;  // NULL: the first key
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    key = next;
    prev = &key;
    inotrace_group_info gi{};
    if (bpf_map_lookup_elem(fd, &key, &gi) == 0) entries.push_back({key, gi});
  }
  return entries;
}

// The kernel's own filters (pid, uid, cgroup, comm) and --stacks, written into the object before it is loaded.
void set_rodata(inotrace_bpf* skel, const TracerOptions& opts) {
  auto* ro = skel->rodata;
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
  ro->capture_stacks = opts.capture_stacks;
}

}  // namespace

// Preflight, tracefs, and the backend chosen by trial attaches.
void Tracer::choose_backend_for(const TracerOptions& opts, const void* elf, size_t elf_size, const Log& log) {
  impl_->facts = preflight(opts.btf_path);
  std::string err;
  bool mounted = false;
  auto tracefs = ensure_tracefs(&err, &mounted);
  if (!tracefs) throw Error(err);
  if (mounted) log(fmt::format("mounted tracefs at {}", *tracefs));
  if (start_up_cached(impl_->facts.btf_path, elf, elf_size)) {
    if (opts.verbose) log(fmt::format("kernel BTF: not parsed; this boot's cache in {} answers", BootCache::process().dir()));
  } else {
    if (opts.verbose) {
      const BootCache& cache = BootCache::process();
      log(fmt::format("kernel BTF: parsing {} ({})", impl_->facts.btf_path,
                      !impl_->facts.custom_btf.empty() ? "given with --btf"
                      : cache.usable() ? fmt::format("not yet in this boot's cache in {}", cache.dir())
                                       : fmt::format("no cache: {}", cache.why_not())));
    }
    try {  // one parse for the prober, the CoreBtf and the program choice
      impl_->start_btf = shared_kernel_btf(impl_->facts.btf_path);
    } catch (const Error&) {
      // the prober reports it as fentry's failure; CoreBtf falls back to libbpf's own parse
    }
  }
  KernelProber prober(impl_->facts, impl_->facts.btf_path, *tracefs);
  impl_->choice = choose_backend(opts.backend, prober, {Backend::Fentry, Backend::Kprobe, Backend::Tracepoint});
  if (opts.verbose)
    for (const auto& p : impl_->choice.probes) log(fmt::format("probe {:<45} {}", p.probe, p.ok ? "ok" : "FAILED: " + p.detail));
  log(fmt::format("backend {}: {}", backend_name(impl_->choice.backend), impl_->choice.why));
}

// The chosen backend's programs this kernel can run, whether the fentry ones may read the
// syscall wrappers' pt_regs (the kernel's BTF types them), and whether names walk in bpf_loop.
std::vector<const ProgramSpec*> Tracer::programs_for(Backend backend, const Log& log, bool want_typed_reads) {
  if (backend == Backend::Fentry && !impl_->start_btf) try {
      impl_->start_btf = shared_kernel_btf(impl_->facts.btf_path);  // the programs' targets, and libbpf's at load
    } catch (const Error&) {
    }
  const btf* vmlinux_btf = backend == Backend::Fentry ? impl_->start_btf.get() : nullptr;
  impl_->syscall_args = backend != Backend::Fentry ||
                        (vmlinux_btf && btf_types_syscall_regs(vmlinux_btf, "__x64_sys_inotify_add_watch"));
  if (!impl_->syscall_args)
    log("fentry: this kernel's BTF does not type the syscall wrappers' pt_regs: adds are reported "
        "from inotify_update_watch, without the fd and without failures that happen before it "
        "(ENOENT, EACCES, EINVAL)");
  impl_->looped_walks = kernel_has_bpf_loop();
  impl_->typed.reset();
  // Typed loads need the running kernel's own type ids: not with --btf.
  if (want_typed_reads && backend == Backend::Tracepoint && impl_->looped_walks && impl_->facts.custom_btf.empty() &&
      impl_->facts.btf_path == kRunningKernelBtf) try {
      impl_->typed = typed_read_ids(impl_->facts.btf_path);
    } catch (const Error&) {  // no BTF to read ids from: probe reads
    }
  return impl_->choose_programs(backend, vmlinux_btf, log);
}

Tracer::Tracer(const TracerOptions& opts) : impl_(std::make_unique<Impl>()) {
  Log log = [&](const std::string& s) {
    if (opts.log) opts.log(s);
  };
  try {
    start(opts, log);
  } catch (const TypedLoadRefused& e) {
    log(fmt::format("{}: loading the probe-read programs instead", e.what()));
    TracerOptions probed = opts;
    probed.typed_reads = false;
    impl_ = std::make_unique<Impl>();
    start(probed, log);
  }
}

void Tracer::start(const TracerOptions& opts, const Log& log) {
  init_libbpf_logging(opts.verbose);  // before the early maps' thread calls libbpf
  size_t elf_size = 0;
  const void* elf = inotrace_bpf__elf_bytes(&elf_size);
  // The instances' sequences: a preallocated LRU evicts what no hook saw end (the tracepoint
  // backend has none for an instance's close); where the caller collects dead instances itself
  // and the kernel allocates map entries safely in tracing programs (6.1+; before, a kernel
  // warning per boot), a hash that allocates on demand, which costs nothing to create.
  impl_->maps_on_demand = opts.dead_groups_collected && kernel_allocates_in_tracing_programs();
  // The per-thread syscall state as task-local storage (maps.bpf.h): a syscall pays a cached
  // lookup instead of a hash insert, lookup and delete (6.4+, environment.h). Before, where
  // the kernel allocates safely, the hash allocates on demand (~3 ms less of a 2-core node's
  // start-up than preallocated).
  const bool pending_per_task = kernel_task_storage_suits_tracing();
  EarlyMaps::Shape group_seqs = impl_->maps_on_demand
                                    ? EarlyMaps::Shape{BPF_MAP_TYPE_HASH, sizeof(uint64_t), sizeof(inotrace_group_info),
                                                       INOTRACE_GROUP_SEQS_ENTRIES, BPF_F_NO_PREALLOC}
                                    : EarlyMaps::Shape{BPF_MAP_TYPE_LRU_HASH, sizeof(uint64_t), sizeof(inotrace_group_info),
                                                       INOTRACE_GROUP_SEQS_ENTRIES, 0};
  // The big preallocated maps, created meanwhile on other threads (early_maps.h). Task-local
  // storage costs nothing to create and is left to libbpf.
  // Both shapes known: no thread reads the ELF object for them (an open of it, ~5 ms of the
  // second core, which the start-up's own threads and the node's work need).
  const uint32_t ringbuf_bytes = checked_ringbuf_size(opts.ringbuf_bytes);
  std::vector<EarlyMaps::Spec> early_specs{
      {"group_seqs", 0, group_seqs},  // the slowest: begun first
      {"events", ringbuf_bytes, EarlyMaps::Shape{BPF_MAP_TYPE_RINGBUF, 0, 0, ringbuf_bytes, 0}}};
  if (!pending_per_task && !impl_->maps_on_demand) early_specs.push_back({"pending"});
  const size_t early_asked = early_specs.size();
  EarlyMaps early(elf, elf_size, std::move(early_specs));
  choose_backend_for(opts, elf, elf_size, log);

  std::optional<CoreBtf> core;  // read by libbpf at load
  LIBBPF_OPTS(bpf_object_open_opts, open_opts, .btf_custom_path = core_btf_path(impl_->facts, elf, elf_size, core));
  impl_->skel = inotrace_bpf__open_opts(&open_opts);
  if (!impl_->skel) throw Error(fmt::format("cannot open the BPF object: {}", strerror(errno)));
  set_rodata(impl_->skel, opts);
  bpf_map__set_max_entries(impl_->skel->maps.events, ringbuf_bytes);
  if (impl_->maps_on_demand) {
    bpf_map__set_type(impl_->skel->maps.group_seqs, BPF_MAP_TYPE_HASH);
    bpf_map__set_map_flags(impl_->skel->maps.group_seqs, BPF_F_NO_PREALLOC);
    if (!pending_per_task) bpf_map__set_map_flags(impl_->skel->maps.pending, BPF_F_NO_PREALLOC);
  }
  if (pending_per_task) {
    bpf_map__set_type(impl_->skel->maps.pending, BPF_MAP_TYPE_TASK_STORAGE);
    bpf_map__set_max_entries(impl_->skel->maps.pending, 0);
    bpf_map__set_map_flags(impl_->skel->maps.pending, BPF_F_NO_PREALLOC);
    impl_->skel->rodata->pending_per_task = true;
  }
  if (impl_->choice.backend == Backend::Tracepoint) {
    // Only the hooked backends' programs use these; preallocating 16,384 entries each cost
    // ~3 ms of start-up apiece. (Map references in code the verifier prunes still need a map.)
    bpf_map__set_max_entries(impl_->skel->maps.notify_paths, 1);
    bpf_map__set_max_entries(impl_->skel->maps.destroying, 1);
  }

  std::vector<const ProgramSpec*> chosen = programs_for(impl_->choice.backend, log, opts.typed_reads);
  // Loads through the task's BTF pointer are plain loads at run time, but from 6.3 on the
  // verifier searches the kernel's BTF by name for each one it checks. The tracepoint backend's
  // hot programs cast the task instead where the kernel has bpf_rdonly_cast (its other programs
  // run once per instance and probe-read); fentry and kprobe keep the loads (run time first).
  impl_->skel->rodata->kernel_btf_types_task =
      impl_->facts.custom_btf.empty() &&
      (impl_->choice.backend != Backend::Tracepoint || !kernel_has_typed_cast(impl_->facts.btf_path));
  if (impl_->typed) set_typed_read_ids(impl_->skel, *impl_->typed);
  // Their casts are linked at the load (section_handlers.h), callbacks included.
  TypedCastsAtLoad casts(cast_func_for_load(impl_->typed ? &*impl_->typed : nullptr, opts.typed_cast_func_for_test));
  if (opts.verbose)
    log(fmt::format("reads of kernel objects: {}", impl_->typed ? "typed loads (bpf_rdonly_cast)" : "probe reads"));
  impl_->start_btf.reset();  // before libbpf parses its own (fentry programs' attach targets)
  size_t early_given = early.hand_to(impl_->skel->obj);
  if (opts.verbose)
    log(fmt::format("maps created before the load: {} of {}{}{}", early_given, early_asked,
                    impl_->maps_on_demand ? " (the instances' hash allocates on demand)" : "",
                    pending_per_task ? " (syscall state in task-local storage)" : ""));
  if (int e = inotrace_bpf__load(impl_->skel)) {
    // Only a typed program refused by the verifier falls back; anything else (a map that cannot
    // be created, EPERM, a probed program) would fail the second start the same way.
    std::vector<std::string> typed_programs;
    for (const ProgramSpec* spec : chosen)
      if (spec->reads == Reads::Typed) typed_programs.emplace_back(spec->name);
    casts.throw_if_typed_refused(e, typed_programs, last_libbpf_message());
    throw Error(fmt::format("loading the BPF programs failed: {} (libbpf: {}); run with -v for the verifier log",
                            strerror(-e), last_libbpf_message()));
  }
  auto* bss = impl_->skel->bss;
  impl_->identity = identify_inotify(impl_->skel->progs.identify_inotify,
                                        {&bss->inotify_release_addr, &bss->inotify_freeing_mark_addr, bss->identified_dentry_name},
                                        impl_->facts);
  if (opts.verbose) log(fmt::format("inotify objects identified {}", impl_->identity.how));
  for (const ProgramSpec* spec : chosen) impl_->attach(*spec, opts.verbose, log);

  impl_->rb = ring_buffer__new(bpf_map__fd(impl_->skel->maps.events), Impl::on_record, impl_.get(), nullptr);
  if (!impl_->rb) throw Error(fmt::format("cannot open the ring buffer: {}", strerror(errno)));
  impl_->wakeups = std::make_unique<RingWakeups>(bpf_map__fd(impl_->skel->maps.events), &bss->consumer_waiting);
}

Tracer::~Tracer() = default;

Backend Tracer::backend() const { return impl_->choice.backend; }
bool Tracer::reports_syscall_args() const { return impl_->syscall_args; }
bool Tracer::typed_reads() const { return impl_->typed.has_value(); }
const KernelFacts& Tracer::facts() const { return impl_->facts; }
const InotifyIdentity& Tracer::identity() const { return impl_->identity; }
const BackendChoice& Tracer::choice() const { return impl_->choice; }
const std::string& Tracer::last_decode_error() const { return impl_->last_decode_error; }

void Tracer::wait(int timeout_ms) {
  if (!impl_->wakeups->arm()) {
    // Something is in the ring. Right after a drain that read nothing it is, as a rule, a
    // record reserved and not committed yet (a program preempted between the two): epoll
    // would report it ready at once too, and returning would spin this thread until the
    // commit. Nap instead, not asking for wake-ups (armed, every record committed meanwhile
    // would raise one); the commit is read at most a millisecond late.
    impl_->wakeups->disarm();
    if (impl_->last_drained == 0 && timeout_ms != 0) usleep(kBatchWindowUs);
    return;
  }
  absl::Cleanup disarm = [&] { impl_->wakeups->disarm(); };  // armed: disarmed however the wait ends
  epoll_event ready;
  if (epoll_wait(ring_buffer__epoll_fd(impl_->rb), &ready, 1, timeout_ms) < 0 && errno != EINTR)
    throw Error(fmt::format("waiting for the ring buffer failed: {}", strerror(errno)));
}

bool Tracer::groups_need_collection() const { return impl_->maps_on_demand; }

size_t Tracer::forget_oldest_groups() {
  int fd = bpf_map__fd(impl_->skel->maps.group_seqs);
  std::vector<GroupEntry> entries = group_entries(fd);
  auto middle = entries.begin() + entries.size() / 2;
  std::nth_element(entries.begin(), middle, entries.end(),
                   [](const GroupEntry& a, const GroupEntry& b) { return a.info.seq < b.info.seq; });
  size_t forgotten = 0;
  for (auto it = entries.begin(); it != middle; ++it) forgotten += bpf_map_delete_elem(fd, &it->group) == 0;
  return forgotten;
}

std::optional<uint64_t> Tracer::group_seq(uint64_t group) const {
  inotrace_group_info gi{};
  if (bpf_map_lookup_elem(bpf_map__fd(impl_->skel->maps.group_seqs), &group, &gi) != 0) return std::nullopt;
  return gi.seq;
}

size_t Tracer::collect_dead_groups(const std::vector<uint64_t>& live, uint64_t snapshot_began_ns) {
  int fd = bpf_map__fd(impl_->skel->maps.group_seqs);
  std::unordered_set<uint64_t> alive(live.begin(), live.end());
  std::vector<uint64_t> dead;
  for (const GroupEntry& e : group_entries(fd))  // created after the snapshot began: not in it, alive
    if (!alive.contains(e.group) && e.info.seq < snapshot_began_ns) dead.push_back(e.group);
  // Deleted after the walk (deleting under get_next_key restarts it), each taken out with its
  // value in one step: an instance created at a dead one's address since the walk read it is
  // put back, unless the programs already wrote that address again.
  size_t forgotten = 0;
  for (uint64_t k : dead) {
    inotrace_group_info gi{};
    if (bpf_map_lookup_and_delete_elem(fd, &k, &gi) != 0) continue;
    if (gi.seq < snapshot_began_ns) forgotten++;
    else bpf_map_update_elem(fd, &k, &gi, BPF_NOEXIST);
  }
  return forgotten;
}

int Tracer::poll(int timeout_ms, const Callback& cb) {
  int n = drain(cb);
  if (n == 0 && timeout_ms != 0) {
    wait(timeout_ms);
    n = drain(cb);
  }
  // Once records flow, let them gather for a millisecond so that one pass reads a batch: the
  // programs wake this consumer only when it waits (ring_wakeups.h), and the default ring
  // buffer holds ~0.4 s of one core's full rate, so this costs at most 1 ms of latency and no
  // drops (bench c).
  if (n > 0) usleep(kBatchWindowUs);
  return n;
}

int Tracer::drain(const Callback& cb) {
  impl_->cb = &cb;
  int n = ring_buffer__consume(impl_->rb);
  impl_->cb = nullptr;
  if (n < 0) throw Error(fmt::format("reading the ring buffer failed: {}", strerror(-n)));
  impl_->last_drained = n;
  return n;
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
  c.groups_entered = sum(INOTRACE_CNT_GROUPS_ENTERED);
  c.groups_full = sum(INOTRACE_CNT_GROUPS_FULL);
  return c;
}

}  // namespace inotrace
