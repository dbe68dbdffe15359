#include "events/decode.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "events/instance_id_key.h"
#include "util/recent_values.h"

namespace inotrace {

// Never the pointer itself: an opaque keyed hash (events/instance_id_key.h).
std::string InstanceId::str() const { return opaque_instance_id(group, seq); }
ShortText InstanceId::text() const { return opaque_instance_id_text(group, seq); }

std::string KernelDev::str() const { return text().str(); }

ShortText KernelDev::text() const {
  // A stream's targets are on a few filesystems: their texts are kept (100 instructions per
  // JSON event otherwise). By hand: fmt's format-string parse and the heap string were 580.
  thread_local RecentValues<uint32_t, ShortText> recent;
  return recent.get(raw, [](uint32_t r, ShortText& t) { t = KernelDev{r}.formatted(); });
}

ShortText KernelDev::formatted() const {
  fmt::format_int maj(major()), min(minor());
  ShortText t;
  std::memcpy(t.data, maj.data(), maj.size());
  t.data[maj.size()] = ':';
  std::memcpy(t.data + maj.size() + 1, min.data(), min.size());
  t.size = (unsigned char)(maj.size() + 1 + min.size());
  return t;
}

KernelDev KernelDev::from_st_dev(uint64_t st_dev) {
  // glibc's major()/minor() encoding of st_dev -> the kernel's MKDEV.
  uint32_t maj = ((st_dev >> 32) & 0xfffff000u) | ((st_dev >> 8) & 0xfffu);
  uint32_t min = ((st_dev >> 12) & 0xffffff00u) | (st_dev & 0xffu);
  return KernelDev{(maj << 20) | (min & 0xfffff)};
}

std::string bounded_cstring(const char* data, size_t len) {
  std::string out;
  assign_bounded_cstring(out, data, len);
  return out;
}

void assign_bounded_cstring(std::string& out, const char* data, size_t len) {
  const void* nul = std::memchr(data, '\0', len);
  out.assign(data, nul ? static_cast<const char*>(nul) - data : len);
}

std::string join_leaf_first_components(const char* data, size_t len) {
  std::string out;
  assign_leaf_first_components(out, data, len);
  return out;
}

void assign_leaf_first_components(std::string& out, const char* data, size_t len) {
  // Two passes over the NUL-separated components: the length, then each one written from the
  // end of the result backwards (leaf last), with no list of parts and one allocation at most.
  auto each = [&](auto&& f) {
    for (size_t pos = 0; pos < len;) {
      const void* nul = std::memchr(data + pos, '\0', len - pos);
      size_t end = nul ? static_cast<const char*>(nul) - data : len;
      f(data + pos, end - pos);
      pos = end + 1;
    }
  };
  size_t total = 0;
  each([&](const char*, size_t n) { total += 1 + n; });
  if (!total) return (void)out.assign("/");
  out.resize(total);
  size_t w = total;
  each([&](const char* part, size_t n) {
    w -= n;
    if (n) std::memcpy(out.data() + w, part, n);
    out[--w] = '/';
  });
}

namespace {

void set_task(TaskInfo& task, const inotrace_task& t) {
  task.pid = t.pid, task.tid = t.tid, task.uid = t.uid, task.cgroup_id = t.cgroup_id;
  assign_bounded_cstring(task.comm, t.comm, sizeof(t.comm));
}

UcountInfo ucount_of(const inotrace_ucount& u) {
  return UcountInfo{u.watches, u.max_watches, u.uid, u.userns_ino};
}

bool known_type(uint16_t type) {
  return type >= INOTRACE_REC_ADD && type <= INOTRACE_REC_INIT_FAILED;
}

void set_path(Event& ev, uint8_t kind, const char* tail, size_t len) {
  switch (kind) {
    case INOTRACE_PATH_USER:
      assign_bounded_cstring(ev.path, tail, len);
      ev.path_source = PathSource::Syscall;
      break;
    case INOTRACE_PATH_DENTRY:
      assign_leaf_first_components(ev.path, tail, len);
      ev.path_source = PathSource::Dentry;
      break;
    case INOTRACE_PATH_KERNFS:
      assign_leaf_first_components(ev.path, tail, len);
      ev.path_source = PathSource::Kernfs;
      break;
    case INOTRACE_PATH_USER_CWD: {
      assign_bounded_cstring(ev.path, tail, len);
      ev.path_source = PathSource::Syscall;
      size_t used = std::min(len, ev.path.size() + 1);
      assign_leaf_first_components(ev.cwd_fs_path, tail + used, len - used);
      break;
    }

    default:
      break;
  }
}

// The return addresses at `off` (--stacks), validated against the record's size.
template <typename Record>
bool read_user_stack(Event& ev, const Record& r, size_t off, const void* data, size_t size, DecodeError* error) {
  ev.stack_err = r.stack_err;
  if (!r.stack_len) return true;
  if (r.stack_len % 8 || r.stack_len > INOTRACE_STACK_BYTES || off + r.stack_len > size) {
    if (error) error->message = fmt::format("stack of {} bytes at {} overruns a {}-byte record", r.stack_len, off, size);
    return false;
  }
  ev.user_stack.resize(r.stack_len / 8);
  std::memcpy(ev.user_stack.data(), static_cast<const char*>(data) + off, r.stack_len);
  ev.stack_top_word = r.stack_top_word;
  return true;
}

}  // namespace

bool decode_event_into(const void* data, size_t size, Event& ev, DecodeError* error) {
  auto fail = [&](std::string msg) {
    if (error) error->message = std::move(msg);
    return false;
  };
  if (size < sizeof(inotrace_hdr)) return fail(fmt::format("record of {} bytes is shorter than its header", size));
  inotrace_hdr hdr;
  std::memcpy(&hdr, data, sizeof(hdr));
  if (hdr.size > size) return fail(fmt::format("record claims {} bytes but {} arrived", hdr.size, size));
  if (!known_type(hdr.type)) return fail(fmt::format("unknown record type {}", hdr.type));

  ev.reset_keeping_buffers();
  ev.type = static_cast<EventType>(hdr.type);
  ev.ts_mono_ns = hdr.ts_ns;
  ev.flags = hdr.flags;

  if (ev.is_watch_event()) {
    if (hdr.size < INOTRACE_WATCH_EVENT_FIXED)
      return fail(fmt::format("watch record of {} bytes is shorter than {}", hdr.size, INOTRACE_WATCH_EVENT_FIXED));
    inotrace_watch_event w;  // fixed part only; the tail is read in place
    std::memcpy(&w, data, INOTRACE_WATCH_EVENT_FIXED);
    size_t tail_avail = hdr.size - INOTRACE_WATCH_EVENT_FIXED;
    if (w.path_len > tail_avail)
      return fail(fmt::format("path of {} bytes overruns a {}-byte record", w.path_len, hdr.size));
    if (w.reason > INOTRACE_REASON_UNKNOWN) return fail(fmt::format("unknown removal reason {}", w.reason));
    set_task(ev.task, w.task);
    ev.instance = InstanceId{w.group, w.group_seq};
    ev.fd = w.fd;
    ev.wd = w.wd;
    ev.ino = w.ino;
    ev.dev = KernelDev{w.dev};
    ev.mask = w.mask;
    ev.req_mask = w.req_mask;
    ev.err = w.err;
    ev.reason = static_cast<Reason>(w.reason);
    ev.ucount = ucount_of(w.ucount);
    ev.mnt_id = w.mnt_id;
    set_path(ev, w.path_kind, static_cast<const char*>(data) + INOTRACE_WATCH_EVENT_FIXED, w.path_len);
    return read_user_stack(ev, w, inotrace_stack_offset(w.path_len), data, hdr.size, error);
  }

  if (hdr.size < sizeof(inotrace_instance_event))
    return fail(fmt::format("instance record of {} bytes is shorter than {}", hdr.size, sizeof(inotrace_instance_event)));
  inotrace_instance_event in;
  std::memcpy(&in, data, sizeof(in));
  set_task(ev.task, in.task);
  ev.instance = InstanceId{in.group, in.group_seq};
  ev.fd = in.fd;
  ev.err = in.err;
  ev.req_mask = in.init_flags;
  ev.ucount = ucount_of(in.ucount);
  return read_user_stack(ev, in, INOTRACE_INSTANCE_EVENT_FIXED, data, hdr.size, error);
}

std::optional<Event> decode_event(const void* data, size_t size, DecodeError* error) {
  Event ev;
  if (!decode_event_into(data, size, ev, error)) return std::nullopt;
  return ev;
}

}  // namespace inotrace

namespace inotrace {

std::optional<inotrace_snap_instance> decode_snap_instance(const void* data, size_t size, DecodeError* error) {
  inotrace_snap_instance rec;
  if (size < sizeof(rec)) {
    if (error) error->message = fmt::format("snapshot instance record of {} bytes, expected {}", size, sizeof(rec));
    return std::nullopt;
  }
  std::memcpy(&rec, data, sizeof(rec));
  if (rec.hdr.type != INOTRACE_REC_SNAP_INSTANCE || rec.hdr.size != sizeof(rec)) {
    if (error) error->message = fmt::format("bad snapshot instance record (type {}, size {})", rec.hdr.type, rec.hdr.size);
    return std::nullopt;
  }
  return rec;
}

std::optional<SnapWatchRecord> decode_snap_watch(const void* data, size_t size, std::string* path, DecodeError* error) {
  SnapWatchRecord w;
  auto fail = [&](std::string m) -> std::optional<SnapWatchRecord> {
    if (error) error->message = std::move(m);
    return std::nullopt;
  };
  if (size < INOTRACE_SNAP_WATCH_FIXED) return fail(fmt::format("snapshot watch record of {} bytes", size));
  std::memcpy(&w, data, INOTRACE_SNAP_WATCH_FIXED);
  if (w.hdr.type != INOTRACE_REC_SNAP_WATCH) return fail(fmt::format("unexpected record type {}", w.hdr.type));
  if (w.hdr.size > size || w.hdr.size < INOTRACE_SNAP_WATCH_FIXED ||
      w.path_len > w.hdr.size - INOTRACE_SNAP_WATCH_FIXED)
    return fail(fmt::format("snapshot watch record sizes inconsistent ({} / {} / path {})", w.hdr.size, size, w.path_len));
  const char* tail = static_cast<const char*>(data) + INOTRACE_SNAP_WATCH_FIXED;
  if (path) {
    if (w.path_kind == INOTRACE_PATH_DENTRY || w.path_kind == INOTRACE_PATH_KERNFS)
      assign_leaf_first_components(*path, tail, w.path_len);
    else
      path->clear();
  }
  return w;
}

}  // namespace inotrace
