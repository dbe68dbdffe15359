// A decoded inotrace record: what every consumer (printers, the watch table) works with.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "events/creation_stack.h"
#include "events/workload.h"
#include "util/short_text.h"
#include "inotrace/events.h"

namespace inotrace {

enum class EventType : uint16_t {
  Add = INOTRACE_REC_ADD,
  Update = INOTRACE_REC_UPDATE,
  AddFailed = INOTRACE_REC_ADD_FAILED,
  Remove = INOTRACE_REC_REMOVE,
  InstanceCreate = INOTRACE_REC_INSTANCE_CREATE,
  InstanceDestroy = INOTRACE_REC_INSTANCE_DESTROY,
  InitFailed = INOTRACE_REC_INIT_FAILED,
};

enum class Reason : uint8_t {
  None = INOTRACE_REASON_NONE,
  RmWatch = INOTRACE_REASON_RM_WATCH,
  InodeDeleted = INOTRACE_REASON_INODE_DELETED,
  Unmount = INOTRACE_REASON_UNMOUNT,
  InstanceClosed = INOTRACE_REASON_INSTANCE_CLOSED,
  Oneshot = INOTRACE_REASON_ONESHOT,
  Unknown = INOTRACE_REASON_UNKNOWN,
};

// Where the event's path came from.
enum class PathSource : uint8_t {
  None,     // no path known
  Syscall,  // the string passed to inotify_add_watch (absolute, or made absolute with the cwd)
  SyscallRelative,  // relative string whose cwd could not be read (process gone)
  Dentry,   // kernel dentry walk: path inside the target's filesystem
  Kernfs,   // kernfs node names (cgroup/sysfs): path inside that filesystem
  Mount,    // in-filesystem path joined with a mount point of that filesystem
  FileHandle,  // open_by_handle_at + readlink (procfs snapshot source)
};

// Whose pid a deduced event (from_snapshot) carries: nobody saw the actor of such a removal.
enum class PidSource : uint8_t {
  Actor,         // live events: the task that made the call (or caused the removal)
  None,          // no process is known (pid 0)
  Adder,         // a process seen in a live event creating the instance or adding a watch
                 // through it; it may have closed its fd long before
  LastHolder,    // the only process the latest snapshot saw holding the instance
  OneOfHolders,  // one of several processes the latest snapshot saw sharing the instance
};

// A set of removal reasons, bit (1 << Reason).
using ReasonSet = uint8_t;
constexpr ReasonSet reason_bit(Reason r) { return (ReasonSet)(1u << static_cast<unsigned>(r)); }

// An inotify instance: the fsnotify_group pointer plus a creation sequence, since pointers are
// reused after free. seq 0 means "created before tracing began".
struct InstanceId {
  uint64_t group = 0;
  uint64_t seq = 0;
  bool operator==(const InstanceId&) const = default;
  std::string str() const;
  ShortText text() const;  // str() without a heap string
};

// Linux kernel dev_t (major << 20 | minor), as in fdinfo's sdev; not st_dev.
struct KernelDev {
  uint32_t raw = 0;
  uint32_t major() const { return raw >> 20; }
  uint32_t minor() const { return raw & 0xfffff; }
  std::string str() const;  // "major:minor"
  ShortText text() const;   // str() without a heap string
  ShortText formatted() const;  // text(), formatted anew
  bool operator==(const KernelDev&) const = default;
  static KernelDev from_st_dev(uint64_t st_dev);
};

struct TaskInfo {
  uint32_t pid = 0;
  uint32_t tid = 0;
  uint32_t uid = 0;
  uint64_t cgroup_id = 0;
  std::string comm;
  bool operator==(const TaskInfo&) const = default;
};

// The (user namespace, uid) a watch or instance is charged to, with its count and limit.
struct UcountInfo {
  int64_t count = -1;  // watches (or instances, on instance events); -1 unknown
  int64_t max = -1;
  uint32_t uid = UINT32_MAX;
  uint32_t userns_ino = 0;
  bool known() const { return count >= 0; }
  bool operator==(const UcountInfo&) const = default;
};

struct Event {
  EventType type = EventType::Add;
  uint64_t ts_mono_ns = 0;
  uint32_t flags = 0;  // INOTRACE_F_*
  TaskInfo task;
  InstanceId instance;
  int32_t fd = -1;
  int32_t wd = -1;
  uint64_t ino = 0;
  KernelDev dev;
  uint32_t mask = 0;      // watch mask after the operation
  uint32_t req_mask = 0;  // mask argument (add) or init1 flags (instance events)
  int32_t err = 0;        // positive errno
  Reason reason = Reason::None;
  // Removals whose reason was deduced without proof: every reason the evidence allowed,
  // `reason` (the likeliest) included. Empty: `reason` is certain (or unknown).
  ReasonSet possible_reasons = 0;
  PidSource pid_source = PidSource::Actor;
  UcountInfo ucount;
  std::string path;  // raw bytes; may be invalid UTF-8 or contain newlines
  int32_t mnt_id = 0;  // with a Dentry path from a hooked add: the mount it was resolved in;
                       // with a relative Syscall path: the mount of cwd_fs_path
  std::shared_ptr<const Workload> workload;  // the task's pod and container, if known (shared per process)
  std::string cwd_fs_path;  // relative Syscall path: the caller's cwd inside its filesystem
  PathSource path_source = PathSource::None;
  bool from_snapshot = false;  // synthesised by reconciliation, not seen by a hook
  // --stacks: the creating user stack as captured (adds), and bpf_get_stack's error if none.
  std::vector<uint64_t> user_stack;
  int16_t stack_err = 0;
  uint64_t stack_top_word = 0;  // the word at the user stack pointer (see inotrace_watch_event)
  // ... resolved to binaries and symbols (adds; removals: the stack that created the watch).
  std::shared_ptr<const CreationStack> stack;

  bool reason_certain() const { return possible_reasons == 0 && reason != Reason::Unknown; }
  bool operator==(const Event&) const = default;

  // Back to a default Event, its strings' and stack's heap buffers kept for the next record
  // (decode's reset per record): assigning a whole `Event{}` zeroed and moved a 312-byte
  // temporary each time. Add a field: reset it here too (the size check below is the reminder,
  // the decode test compares with Event{}).
  void reset_keeping_buffers() {
    type = EventType::Add, ts_mono_ns = 0, flags = 0;
    task.pid = task.tid = 0, task.uid = 0, task.cgroup_id = 0, task.comm.clear();
    instance = InstanceId{}, fd = -1, wd = -1, ino = 0, dev = KernelDev{}, mask = req_mask = 0, err = 0;
    reason = Reason::None, possible_reasons = 0, pid_source = PidSource::Actor, ucount = UcountInfo{};
    path.clear(), mnt_id = 0, workload.reset(), cwd_fs_path.clear(), path_source = PathSource::None;
    from_snapshot = false, user_stack.clear(), stack_err = 0, stack_top_word = 0, stack.reset();
  }

  bool is_watch_event() const {
    return type == EventType::Add || type == EventType::Update || type == EventType::AddFailed ||
           type == EventType::Remove;
  }
};
#if defined(__GLIBCXX__) && UINTPTR_MAX == UINT64_MAX
// A new field of Event, TaskInfo or UcountInfo changes this as a rule (one that fits in padding
// does not: the decode test compares a reset event with Event{}): reset it in
// reset_keeping_buffers. The size is libstdc++'s on 64-bit.
static_assert(sizeof(Event) == 312, "Event::reset_keeping_buffers resets every field");
#endif

}  // namespace inotrace
