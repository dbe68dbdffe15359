#include "snapshot/iter_source.h"

#include <absl/cleanup/cleanup.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <iterator>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "events/decode.h"
#include "loader/environment.h"
#include "loader/core_btf.h"
#include "loader/start_up_cache.h"
#include "loader/inotify_identity.h"
#include "loader/section_handlers.h"
#include "loader/kernel_func_ids.h"
#include "loader/kernel_btf.h"
#include "loader/preflight.h"
#include "loader/typed_reads.h"
#include "inotrace_iter.skel.h"
#include "util/error.h"
#include "util/log.h"
#include "util/wall_clock.h"
#include "util/unique_fd.h"

namespace inotrace {

namespace {

// Every key of a hash map keyed by u64.
std::vector<uint64_t> keys_of(int map_fd) {
  std::vector<uint64_t> keys;
  uint64_t key = 0, next = 0;
  for (uint64_t* prev = nullptr; bpf_map_get_next_key(map_fd, prev, &next) == 0; prev = &key) {
    key = next;
    keys.push_back(key);
  }
  return keys;
}

}  // namespace

struct IterSource::Impl {
  inotrace_iter* skel = nullptr;
  ring_buffer* rb = nullptr;
  // Raw watch records, appended by the ring-buffer callback on the consumer thread: copying
  // keeps the consumer far ahead of the producer (decoding in the callback, or between drains,
  // let a million-watch snapshot overflow the ring buffer). In 1 MiB chunks, each record whole
  // in one: one growing string stalled the consumer on every doubling (a 64 MiB copy at 1M
  // watches), long enough to fill the ring buffer. Each full chunk goes to a decoder thread, so
  // the rows are made on the other core while the kernel walks, not after the walk.
  static constexpr size_t kChunkBytes = 1u << 20;
  std::string filling;              // the consumer's chunk
  std::mutex chunks_lock;
  std::condition_variable chunks_changed;
  std::deque<std::string> full;     // chunks for the decoder, oldest first
  bool no_more_chunks = false;
  uint64_t undecodable = 0;
  std::string last_error;
  bool bounded = false;
  bool names_targets = false;
  // The walk's flow control (IterSourceOptions::pause_when_full): it reads the ring's fill
  // before every (pause_check_mask + 1)th mark and pauses above pause_above, which leaves room
  // for that many records of the longest path (and the ring's 8-byte header each). Up to 32
  // marks per read: the read is a cache miss on the consumer's position. A ring too small for
  // two such runs is read before every mark; one smaller than a record pauses whenever it
  // holds anything, so the walk goes one record at a time.
  uint64_t pause_above = ~0ull;
  uint32_t pause_check_mask = 0;
  void set_pause_threshold(const IterSourceOptions& opts) {
    pause_above = ~0ull;
    pause_check_mask = 0;
    if (!opts.pause_when_full) return;
    const uint64_t record = (INOTRACE_SNAP_WATCH_FIXED + INOTRACE_PATH_MAX + 8 + 7) / 8 * 8;
    uint64_t every = 32;
    while (every > 1 && 2 * every * record > opts.ringbuf_bytes) every /= 2;
    pause_check_mask = every - 1;
    pause_above = opts.ringbuf_bytes > every * record ? opts.ringbuf_bytes - every * record : 0;
  }
  // Consumer rounds finished (each drains the ring as it was when the round began): a reader
  // told the walk paused waits for two, so the ring is empty, or nearly, when the walk goes on.
  std::atomic<uint64_t> drains{0};
  std::function<void(uint64_t)> on_pause_for_test;       // IterSourceOptions
  bool consumer_drains_only_when_asked_for_test = false;  // IterSourceOptions
  std::atomic<bool> walk_waits_for_drain{false};          // wait_for_drain, for the above
  bpf_program* walk = nullptr;  // the one iterator program loaded
  bool typed_reads = false;     // it is the typed walk
  InotifyIdentity identity;
  std::unordered_set<uint64_t> walked_groups;  // the groups the kernel's `walked` map holds
  bool walked_unknown = false;  // a run failed midway: the map may hold groups never listed here

  // Deletes from `walked` the groups this run no longer saw, so the map (not preallocated,
  // not an LRU) holds live instances only, however long a tracer runs. After a failed run,
  // by a scan of the whole map.
  void forget_vanished(const std::unordered_map<uint64_t, size_t>& seen) {
    int fd = bpf_map__fd(skel->maps.walked);
    if (walked_unknown) {
      std::vector<uint64_t> all = keys_of(fd);
      walked_groups = std::unordered_set<uint64_t>(all.begin(), all.end());
      walked_unknown = false;
    }
    for (uint64_t group : walked_groups)
      if (!seen.count(group)) bpf_map_delete_elem(fd, &group);
    walked_groups.clear();
    for (const auto& [group, i] : seen) walked_groups.insert(group);
  }

  // Opens and loads the object with the one walk this source runs; typed: the typed walk with
  // these kernel ids. Throws TypedLoadRefused where the typed walk itself was refused,
  // inotrace::Error otherwise, leaving no object behind.
  void load(const bpf_object_open_opts& open_opts, const IterSourceOptions& opts, const TypedReadIds* typed) {
    if (skel) {
      inotrace_iter__destroy(skel);
      skel = nullptr;
    }
    skel = inotrace_iter__open_opts(&open_opts);
    if (!skel) throw Error(fmt::format("cannot open the snapshot iterator: {}", strerror(errno)));
    bpf_map__set_max_entries(skel->maps.snap_watches, opts.ringbuf_bytes);
    skel->data->share_parent_paths = opts.sibling_paths;
    set_pause_threshold(opts);
    on_pause_for_test = opts.on_pause_for_test;
    consumer_drains_only_when_asked_for_test = opts.consumer_drains_only_when_asked_for_test;
    typed_reads = typed != nullptr;
    if (typed) set_typed_read_ids(skel, *typed);
    walk = bounded         ? skel->progs.snapshot_files_bounded
           : typed         ? skel->progs.snapshot_files_typed
           : names_targets ? skel->progs.snapshot_files
                           : skel->progs.snapshot_files_marks;
    for (bpf_program* p : {skel->progs.snapshot_files, skel->progs.snapshot_files_typed, skel->progs.snapshot_files_marks,
                           skel->progs.snapshot_files_bounded})
      bpf_program__set_autoload(p, p == walk);
    TypedCastsAtLoad casts(cast_func_for_load(typed, opts.typed_cast_func_for_test));
    if (int e = inotrace_iter__load(skel)) {
      const std::string libbpf = last_libbpf_message();
      const std::string typed_walk = bpf_program__name(skel->progs.snapshot_files_typed);
      inotrace_iter__destroy(skel);
      skel = nullptr;
      // Only the typed walk's own refusal falls back: EPERM or a map that cannot be created
      // would fail the probed walk's load the same way. No advice to change the source there:
      // the caller loads the probed walk next.
      casts.throw_if_typed_refused(e, {typed_walk}, libbpf);
      throw Error(fmt::format("loading the snapshot iterator failed: {} (libbpf: {}); BPF iterators need "
                              "Linux 5.8+ with BTF; use --source procfs",
                              strerror(-e), libbpf));
    }
  }

  ~Impl() {
    ring_buffer__free(rb);
    inotrace_iter__destroy(skel);
  }

  // The kernel maps all of a ring buffer's pages at mmap, twice (2 MiB = 4 MB of RSS), so
  // the buffer is mapped only while a run sends watch records: digest and count runs, the
  // daemon's every-second check, send none.
  void map_ring() {
    rb = ring_buffer__new(bpf_map__fd(skel->maps.snap_watches), on_watch, this, nullptr);
    if (!rb) throw Error(fmt::format("cannot open the snapshot ring buffer: {}", strerror(errno)));
  }
  void unmap_ring() {
    ring_buffer__free(rb);
    rb = nullptr;
  }

  // Runs the iterator: its instance records come back through read(), the watch records
  // through the ring buffer, drained meanwhile by a thread so a big instance cannot overflow it.
  std::vector<inotrace_snap_instance> iterate(bool sends_watches, std::vector<std::string>& warnings) {
    bpf_link* link = bpf_program__attach_iter(walk, nullptr);
    if (!link) throw Error(fmt::format("attaching the snapshot iterator failed: {}", strerror(errno)));
    UniqueFd iter_fd(bpf_iter_create(bpf_link__fd(link)));
    if (!iter_fd) {
      int e = errno;
      bpf_link__destroy(link);
      throw Error(fmt::format("creating the snapshot iterator failed: {}", strerror(e)));
    }
    std::atomic<bool> done{false};
    std::thread consumer, decoder;
    // However this ends (a thread that could not start, bad_alloc while reading), both threads
    // are joined and the link destroyed: a joinable std::thread destroyed would terminate.
    absl::Cleanup finish = [&] {
      done.store(true, std::memory_order_release);
      if (consumer.joinable()) consumer.join();
      else if (decoder.joinable()) end_chunks();  // no consumer: nothing more will come
      if (decoder.joinable()) decoder.join();
      iter_fd.reset();
      bpf_link__destroy(link);
    };
    if (sends_watches) {
      decoder = std::thread([&] { decode_chunks(); });
      consumer = std::thread([&] {
        while (!done.load(std::memory_order_acquire)) {
          if (consumer_drains_only_when_asked_for_test && !walk_waits_for_drain.load(std::memory_order_acquire)) {
            std::this_thread::sleep_for(std::chrono::microseconds(50));
            continue;
          }
          if (ring_buffer__consume(rb) <= 0) ring_buffer__poll(rb, 1);
          drains.fetch_add(1, std::memory_order_release);
        }
        ring_buffer__consume(rb);
        try {
          pass_chunk(true);
        } catch (...) {  // the last chunk could not be queued: the decoder still must stop
          if (!copy_error) copy_error = std::current_exception();
          end_chunks();
        }
      });
    }
    int read_error = 0;
    std::vector<inotrace_snap_instance> holders =
        read_instances(iter_fd.get(), warnings, read_error, [&] {
          if (on_pause_for_test) on_pause_for_test(skel->bss->paused_group);
          wait_for_drain(sends_watches);
        });
    if (read_error) throw Error(fmt::format("reading the snapshot iterator failed: {}", strerror(read_error)));
    return holders;
  }

  // After read() said EAGAIN: the walk paused for room in the ring (or the kernel's bound of
  // objects per read() was reached, where no watch record is sent). Waits for the consumer to
  // drain the ring. One that stops draining (its thread failed, or starved for seconds) does
  // not hang the run: the walk stops pausing, records that find the ring full are dropped and
  // their instances read from fdinfo, as without flow control.
  void wait_for_drain(bool sends_watches) {
    if (!sends_watches || skel->data->pause_above == ~0ull) return;
    const uint64_t start = drains.load(std::memory_order_acquire);
    walk_waits_for_drain.store(true, std::memory_order_release);
    absl::Cleanup resumed = [&] { walk_waits_for_drain.store(false, std::memory_order_release); };
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (drains.load(std::memory_order_acquire) < start + 2) {
      if (copy_failed.load(std::memory_order_acquire) || std::chrono::steady_clock::now() > deadline) {
        skel->data->pause_above = ~0ull;  // the program reads it from the mapped .data
        drain_stalled = true;
        return;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }
  bool drain_stalled = false;  // the last run stopped pausing (wait_for_drain)

  // The iterator's seq_file: fixed-size instance records, one per holder of an inotify fd.
  // read() gives EAGAIN where the walk paused (see pause_above) before any record: after
  // paused(), it reads on.
  template <typename Paused>
  static std::vector<inotrace_snap_instance> read_instances(int iter_fd, std::vector<std::string>& warnings, int& read_error,
                                                            Paused paused) {
    std::vector<inotrace_snap_instance> holders;
    std::string pending;
    char buf[16384];
    while (true) {
      ssize_t n = read(iter_fd, buf, sizeof(buf));
      if (n == 0) break;
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) {
          paused();
          continue;
        }
        read_error = errno;
        break;
      }
      pending.append(buf, n);
      size_t off = 0;
      for (; off + sizeof(inotrace_snap_instance) <= pending.size(); off += sizeof(inotrace_snap_instance)) {
        DecodeError err;
        auto rec = decode_snap_instance(pending.data() + off, sizeof(inotrace_snap_instance), &err);
        if (rec) holders.push_back(*rec);
        else warnings.push_back(err.message);
      }
      pending.erase(0, off);
    }
    return holders;
  }

  // The watch records the ring buffer delivered, decoded in arrival order. One instance's marks
  // are walked by one program run, so its records come in one stretch: a run of rows per
  // stretch, handed to the instances once their holder records are read (the instance index is
  // not known while the walk goes on).
  struct WatchRun {
    uint64_t group = 0;
    std::vector<SnapWatch> watches;
  };
  std::vector<WatchRun> runs;
  // The path of the last watch record decoded, which the next one may extend
  // (INOTRACE_F_PATH_SIBLING: the record holds its leaf's name, the rest is this one's parent).
  struct PreviousPath {
    std::string path;
    bool valid = false;
  };
  PreviousPath prev;
  uint64_t sibling_paths = 0;  // records of the last run that extended their predecessor's parent

  void start_decoding() {
    filling.clear();
    full.clear();
    no_more_chunks = false;
    decoder_error = copy_error = nullptr;
    runs.clear();
    prev = {};
    sibling_paths = 0;
    undecodable = 0;
  }
  // The decoder stops once the queue is empty. Allocates nothing.
  void end_chunks() {
    {
      std::lock_guard<std::mutex> g(chunks_lock);
      no_more_chunks = true;
    }
    chunks_changed.notify_one();
  }
  // The consumer's: its chunk to the decoder (last: and no more after it).
  void pass_chunk(bool last) {
    {
      std::lock_guard<std::mutex> g(chunks_lock);
      if (!filling.empty()) full.push_back(std::move(filling));
      no_more_chunks = last;
    }
    chunks_changed.notify_one();
    filling = std::string();
  }
  // The decoder thread: every chunk, in order, until the consumer's last. What it throws
  // (bad_alloc) is kept for the caller's thread; the chunks after it are dropped, not left to
  // pile up while the walk goes on.
  std::exception_ptr decoder_error;
  void decode_chunks() {
    while (true) {
      std::string chunk;
      {
        std::unique_lock<std::mutex> l(chunks_lock);
        chunks_changed.wait(l, [&] { return no_more_chunks || !full.empty(); });
        if (full.empty()) return;
        chunk = std::move(full.front());
        full.pop_front();
      }
      if (decoder_error) continue;
      try {
        decode_chunk(chunk);
      } catch (...) {
        decoder_error = std::current_exception();
        runs.clear();
      }
    }
  }
  void decode_chunk(const std::string& chunk) {
    for (size_t off = 0; off + sizeof(uint32_t) <= chunk.size();) {
      uint32_t len;
      memcpy(&len, chunk.data() + off, sizeof(len));
      off += sizeof(len);
      if (off + len > chunk.size()) break;
      decode_record(chunk.data() + off, len);
      off += len;
    }
  }
  // The runs, moved into their instances; not those of an instance whose paused walk was
  // dropped (INOTRACE_F_SNAP_WALK_DROPPED: they may be another instance's, read from fdinfo).
  void add_watches(const std::unordered_map<uint64_t, size_t>& index, const std::unordered_set<uint64_t>& dropped,
                   Snapshot& snap) {
    for (WatchRun& r : runs) {
      if (dropped.count(r.group)) continue;
      auto it = index.find(r.group);
      // A walk paused and never resumed: its file and every other holder went away (closed
      // or exited) before the iterator came back. The instance is gone.
      if (it == index.end()) continue;
      auto& watches = snap.instances[it->second].watches;
      if (watches.empty()) watches = std::move(r.watches);
      else std::move(r.watches.begin(), r.watches.end(), std::back_inserter(watches));
    }
    runs.clear();
  }
  // The leaf of a sibling record joined to its predecessor's parent; false when there is no
  // predecessor to extend (a record lost before it: the kernel starts over after a drop).
  bool join_sibling(SnapWatchRecord& w, std::string& path) {
    if (!(w.hdr.flags & INOTRACE_F_PATH_SIBLING)) return true;
    size_t slash = prev.path.rfind('/');
    if (!prev.valid || slash == std::string::npos) return false;
    path.insert(0, prev.path, 0, slash);
    w.hdr.flags &= ~INOTRACE_F_PATH_SIBLING;
    sibling_paths++;
    return true;
  }
  void decode_record(const char* data, uint32_t len) {
    std::string path;
    DecodeError err;
    auto decoded = decode_snap_watch(data, len, &path, &err);
    if (decoded && !join_sibling(*decoded, path)) {
      decoded.reset();
      err.message = "a snapshot watch record extends a path that never came";
    }
    if (!decoded) {
      undecodable++;
      last_error = err.message;
      prev.valid = false;
      return;
    }
    prev.valid = decoded->path_kind == INOTRACE_PATH_DENTRY;
    if (prev.valid) prev.path.assign(path);
    if (runs.empty() || runs.back().group != decoded->group) runs.push_back(WatchRun{decoded->group, {}});
    runs.back().watches.push_back(snap_watch(*decoded, std::move(path)));
  }

  static SnapWatch snap_watch(const SnapWatchRecord& w, std::string path) {
    SnapWatch sw;
    sw.wd = w.wd;
    sw.ino = w.ino;
    sw.dev = KernelDev{w.dev};
    sw.mask = w.mask;
    sw.kernel_flags = w.hdr.flags;
    if (w.path_kind == INOTRACE_PATH_DENTRY) sw.fs_path_source = PathSource::Dentry;
    if (w.path_kind == INOTRACE_PATH_KERNFS) sw.fs_path_source = PathSource::Kernfs;
    sw.fs_path = std::move(path);
    return sw;
  }

  // libbpf's C frames call this: nothing may be thrown through them. A record that cannot be
  // kept (bad_alloc) fails the run, after the walk, on the caller's thread.
  std::exception_ptr copy_error;
  std::atomic<bool> copy_failed{false};  // copy_error is set: read by the walk's thread
  static int on_watch(void* ctx, void* data, size_t size) {
    auto* self = static_cast<Impl*>(ctx);
    if (self->copy_error) return 0;
    try {
      uint32_t len = size;
      std::string& chunk = self->filling;
      if (chunk.size() + sizeof(len) + size > chunk.capacity()) {
        if (!chunk.empty()) self->pass_chunk(false);
        chunk.reserve(std::max(kChunkBytes, sizeof(len) + size));
      }
      chunk.append(reinterpret_cast<const char*>(&len), sizeof(len));
      chunk.append(static_cast<const char*>(data), size);
    } catch (...) {
      self->copy_error = std::current_exception();
      self->copy_failed.store(true, std::memory_order_release);
    }
    return 0;
  }
};

namespace {

// Instances from their holder records (one per process and fd holding it): the index of each
// instance in snap.instances, by kernel group.
std::unordered_map<uint64_t, size_t> group_by_instance(const std::vector<inotrace_snap_instance>& holders, Snapshot& snap) {
  std::unordered_map<uint64_t, size_t> index;
  for (const auto& h : holders) {
    auto [it, inserted] = index.try_emplace(h.group, snap.instances.size());
    if (inserted) {
      SnapInstance inst;
      inst.group = h.group;
      inst.id = InstanceId{h.group, 0}.str();  // opaque, as in every output
      snap.instances.push_back(std::move(inst));
    }
    SnapInstance& inst = snap.instances[it->second];
    inst.holders.push_back(Holder{h.pid, h.fd, bounded_cstring(h.comm, sizeof(h.comm)), h.uid, 0});
    if (!(h.hdr.flags & INOTRACE_F_SNAP_DUPLICATE)) {
      inst.ucount = UcountInfo{h.ucount.watches, h.ucount.max_watches, h.ucount.uid, h.ucount.userns_ino};
      inst.user_instances = h.user_instances;
      inst.max_instances = h.max_user_instances;
      inst.digest = h.digest;
      inst.digest_watches = h.nr_marks;
      if (h.hdr.flags & (INOTRACE_F_SNAP_TRUNCATED | INOTRACE_F_SNAP_RACE)) inst.truncated = true;
    }
  }
  return index;
}

}  // namespace

IterSource::IterSource(const KernelFacts& facts, const IterSourceOptions& opts)
    : impl_(std::make_unique<Impl>()) {
  ensure_libbpf_hooks();  // the typed walk's casts are linked by its section's handler
  size_t elf_size = 0;
  const void* elf = inotrace_iter__elf_bytes(&elf_size);
  // One parse of the kernel's BTF for the CoreBtf and the iterators' attach target (section_handlers.h),
  // unless this boot's cache answers both.
  KernelBtfPtr kernel;
  if (facts.custom_btf.empty() && facts.btf_path == kRunningKernelBtf &&
      !start_up_cached(facts.btf_path, elf, elf_size)) try {
      kernel = shared_kernel_btf(facts.btf_path);
      kernel_func_id(facts.btf_path, "bpf_iter_task_file");  // looked up in this parse, kept for the load
    } catch (const Error&) {  // the CoreBtf falls back, and reports nothing either
    }
  std::optional<CoreBtf> core;  // read by libbpf at load
  LIBBPF_OPTS(bpf_object_open_opts, open_opts, .btf_custom_path = core_btf_path(facts, elf, elf_size, core));
  kernel.reset();  // ~10 MB given back before the load, unless another holder keeps it
  // bpf_loop (5.17+) walks any number of marks; without it the bounded program walks
  // INOTRACE_SNAP_UNROLLED_MARKS per instance and flags the rest truncated.
  impl_->bounded = !kernel_has_bpf_loop();
  impl_->names_targets = !impl_->bounded && opts.paths;
  // Typed reads (loader/typed_reads.h) where the running kernel has bpf_rdonly_cast; the kfunc
  // and the type ids must be the running kernel's, so not with --btf.
  std::optional<TypedReadIds> typed;
  if (opts.typed_reads && impl_->names_targets && facts.custom_btf.empty() && facts.btf_path == kRunningKernelBtf) try {
      typed = typed_read_ids(kRunningKernelBtf);
    } catch (const Error&) {  // probe reads, as on a kernel without the kfunc
    }
  if (typed) try {
      impl_->load(open_opts, opts, &*typed);
    } catch (const TypedLoadRefused& e) {
      // The newest code on every kernel: where this kernel's verifier refuses it, the probed walk
      // reads the same fields.
      log_line(fmt::format("{}; walking with probe reads instead", e.what()));
      impl_->load(open_opts, opts, nullptr);
    }
  else
    impl_->load(open_opts, opts, nullptr);
  auto* skel = impl_->skel;
  impl_->identity = identify_inotify(skel->progs.identify_inotify,
                   {&skel->bss->inotify_release_addr, &skel->bss->inotify_freeing_mark_addr, skel->bss->identified_dentry_name},
                   facts);
}

IterSource::~IterSource() = default;

bool IterSource::bounded() const { return impl_->bounded; }

bool IterSource::names_targets() const { return impl_->names_targets; }

bool IterSource::typed_reads() const { return impl_->typed_reads; }

const InotifyIdentity& IterSource::identity() const { return impl_->identity; }

uint64_t IterSource::sibling_paths() const { return impl_->sibling_paths; }
uint64_t IterSource::pauses() const { return impl_->skel->bss->pauses; }
uint32_t IterSource::fill_read_every() const { return impl_->pause_check_mask + 1; }
size_t IterSource::remembered_instances() const { return keys_of(bpf_map__fd(impl_->skel->maps.walked)).size(); }

Snapshot IterSource::take(bool with_paths) { return run(with_paths, false); }

Snapshot IterSource::take_digests() { return run(false, true); }

Snapshot IterSource::take_counts() { return run(false, false, true); }

Snapshot IterSource::run(bool with_paths, bool digests_only, bool counts_only) {
  auto* skel = impl_->skel;
  skel->data->with_paths = with_paths;
  skel->bss->digest_only = digests_only;  // zero-initialised: in .bss
  skel->bss->skip_marks = counts_only;
  skel->bss->run_id++;
  skel->bss->ringbuf_drops = 0;
  skel->bss->walked_full = 0;
  skel->data->pause_above = impl_->pause_above;
  impl_->drain_stalled = false;
  impl_->copy_failed = false;
  skel->bss->pause_check_mask = impl_->pause_check_mask;
  skel->bss->pauses = 0;
  skel->bss->paused_group = 0;  // a run that threw midway may have left a paused walk
  impl_->start_decoding();
  const bool sends_watches = !digests_only && !counts_only;
  if (sends_watches) impl_->map_ring();
  absl::Cleanup unmap = [impl = impl_.get()] {
    impl->unmap_ring();
    impl->filling = std::string();  // not kept for the next run
    impl->full.clear();
    impl->runs.clear();  // rows of a run that threw
  };

  Snapshot snap;
  snap.source = "iterator";
  snap.digests_only = digests_only;
  snap.counts_only = counts_only;
  snap.taken_mono_ns = WallClock::monotonic_now_ns();
  std::vector<inotrace_snap_instance> holders;
  try {
    holders = impl_->iterate(sends_watches, snap.warnings);
    // After both threads are joined: what failed on them, failed this run.
    for (const std::exception_ptr& e : {impl_->copy_error, impl_->decoder_error})
      if (e) std::rethrow_exception(e);
  } catch (...) {
    impl_->walked_unknown = true;  // the kernel may have remembered groups we never read
    throw;
  }
  std::unordered_map<uint64_t, size_t> index = group_by_instance(holders, snap);
  impl_->forget_vanished(index);
  std::unordered_set<uint64_t> dropped;
  for (const auto& h : holders)
    if (h.hdr.flags & INOTRACE_F_SNAP_WALK_DROPPED) dropped.insert(h.group);
  impl_->add_watches(index, dropped, snap);
  if (uint64_t full = skel->bss->walked_full)
    snap.warnings.push_back(fmt::format("{} inotify instance records not remembered by the walk (its table of {} "
                                        "entries is full, or memory ran out): not walked, marked truncated, their "
                                        "watches read from fdinfo instead",
                                        full, bpf_map__max_entries(skel->maps.walked)));
  // The walk flagged the instances whose records were lost (truncated: read from fdinfo).
  if (uint64_t drops = skel->bss->ringbuf_drops)
    snap.warnings.push_back(fmt::format("{} watch records lost: snapshot ring buffer full", drops));
  if (impl_->drain_stalled)
    snap.warnings.push_back("the snapshot ring buffer was not drained for 5 s: the walk stopped pausing for it");
  if (impl_->undecodable)
    snap.warnings.push_back(fmt::format("{} undecodable watch records (last: {})", impl_->undecodable, impl_->last_error));
  return snap;
}

size_t Snapshot::watch_count() const {
  size_t n = 0;
  for (const auto& i : instances) n += watches_of(i);
  return n;
}

}  // namespace inotrace
