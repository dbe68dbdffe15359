/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Maps shared by every entry point of the tracing object. */
#ifndef INOTRACE_MAPS_BPF_H
#define INOTRACE_MAPS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "inotrace/events.h"

/* Live events. Userspace sizes it (bpf_map__set_max_entries) before load. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 * 1024 * 1024);
} events SEC(".maps");

/* Per-CPU counters of what could not be delivered (enum inotrace_counter). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, INOTRACE_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* State carried from a syscall's entry to its exit, per thread. */
enum pending_kind { PENDING_ADD = 1, PENDING_RM = 2, PENDING_INIT = 3 };

struct pending_call {
	__u32 kind;
	__s32 fd;
	__u32 req_mask;      /* add: mask argument; init: flags */
	__u32 idr_next;      /* add: group's idr_next before the call */
	__u8 have_idr_next;
	__u8 selected;      /* init: the caller passes the filters */
	__u8 hooked;        /* set by fentry/kprobe entry points: new_mark is authoritative */
	__u8 via_syscall;   /* hooked add begun at the syscall (fd and path known): emit at its exit */
	__u8 _pad[4];
	__u64 group;         /* group resolved at entry (0 if none) */
	__u64 user_path;     /* add: user pointer to the path string */
	/* rm: the mark as it was before removal */
	__s32 wd;
	__u32 dev;
	__u64 ino;
	__u32 mask;
	__u32 _pad2;
	__u64 inode;         /* rm: struct inode * for the dentry walk at exit */
	/* hooked backends (fentry/kprobe) */
	__u64 new_mark;      /* add: mark created by fsnotify_add_mark_locked in this call */
	__u64 cand_mark;     /* add (kprobe): fsnotify_add_mark_locked's argument, until it returns */
};

/* Keyed by tid. Where task-local storage suits tracing programs (6.4+, loader/environment.h),
 * userspace makes it that instead and sets pending_per_task: the slot lives with the thread, so a
 * syscall costs a cached lookup instead of a hash insert, lookup and delete, each with its
 * bucket lock and an element allocated and freed (watch_handlers.bpf.h: pending_store/take). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct pending_call);
} pending SEC(".maps");

const volatile bool pending_per_task = false;

/* Instance identity: group pointer -> creation sequence. Group pointers are reused after free,
 * so each inotify_init overwrites the entry; LRU so stale entries of freed groups age out. Where
 * userspace collects the entries of ended instances itself (6.1+), it makes this a hash that
 * allocates on demand instead: the preallocated LRU was a fifth of a short command's start-up.
 * `selected`: a task passing the filters created or used the instance, so its removals (which
 * may run in another task: unmount, deferred close) are shown too. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, INOTRACE_GROUP_SEQS_ENTRIES);
	__type(key, __u64);
	__type(value, struct inotrace_group_info);
} group_seqs SEC(".maps");

/* Hooked backends: the target security_path_notify saw in this thread's inotify_add_watch
 * (it runs before inotify_update_watch), taken when the add is reported. */
struct notify_path {
	__u64 mnt;    /* struct vfsmount * */
	__u64 dentry; /* struct dentry * */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32); /* tid */
	__type(value, struct notify_path);
} notify_paths SEC(".maps");

/* Hooked backends: the group whose fsnotify_destroy_group is running in this thread, between
 * entry and exit (the group may be freed by the time the exit hook runs). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32); /* tid */
	__type(value, __u64);
} destroying SEC(".maps");

/* Scratch space for building variable-length records (too big for the 512-byte stack), with
 * slack after the path for put_name()'s bounds and for a creation stack after a whole path. */
struct watch_scratch_value {
	struct inotrace_watch_event e;
	char slack[512];
};
_Static_assert(sizeof(struct watch_scratch_value) >= INOTRACE_WATCH_EVENT_FIXED + INOTRACE_PATH_MAX + INOTRACE_STACK_BYTES,
	       "a stack after a whole path fits the scratch");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct watch_scratch_value);
} watch_scratch SEC(".maps");

static __always_inline void count(enum inotrace_counter which)
{
	__u32 key = which;
	__u64 *v = bpf_map_lookup_elem(&counters, &key);
	if (v)
		*v += 1; /* per-CPU slot: no atomics needed */
}

/* Set by userspace just before it blocks on `events`, cleared by it once awake
 * (loader/ring_wakeups.h); the programs only read it. By default the kernel wakes a consumer
 * that has caught up at every record: an irq_work (a self-IPI) inside the traced syscall, also
 * while the consumer is busy or gathering a batch and nobody waits, so records go in with
 * BPF_RB_NO_WAKEUP unless it asked. A program that cleared the flag before its own commit
 * would leave the others' records unannounced until that commit came. */
volatile __u32 consumer_waiting = 0;

/* The record's own commit wakes a consumer that asked before it. */
static __always_inline __u64 wakeup_flag(void)
{
	return consumer_waiting ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

/* After a commit that woke nobody, whose xchg orders the two: a consumer that asked while the
 * record was being written looked at the ring before the commit, so it is seen here. The
 * wake-up is an empty record discarded with BPF_RB_FORCE_WAKEUP: it wakes and delivers nothing.
 * Should even that reservation fail (a ring too full for 8 bytes, which a --ringbuf-size of a
 * few records allows; 6.15+'s ring lock giving up; an NMI's trylock before it), the consumer
 * sleeps out its wait (100 ms in trace, 50 ms in the daemon and top): the records stay in the
 * ring, and those that found no room count as drops. */
static __always_inline void wake_consumer_that_asked_meanwhile(void)
{
	if (!consumer_waiting)
		return;
	void *wake = bpf_ringbuf_reserve(&events, 8, 0);
	if (wake)
		bpf_ringbuf_discard(wake, BPF_RB_FORCE_WAKEUP);
}

/* Every record of `events` goes out through here (or events_submit). */
static __always_inline void events_output(void *rec, __u64 size)
{
	__u64 wakeup = wakeup_flag();
	if (bpf_ringbuf_output(&events, rec, size, wakeup))
		count(INOTRACE_CNT_RINGBUF_DROPS);
	if (wakeup == BPF_RB_NO_WAKEUP)
		wake_consumer_that_asked_meanwhile();
}

static __always_inline void events_submit(void *reserved)
{
	__u64 wakeup = wakeup_flag();
	bpf_ringbuf_submit(reserved, wakeup);
	if (wakeup == BPF_RB_NO_WAKEUP)
		wake_consumer_that_asked_meanwhile();
}

#endif /* INOTRACE_MAPS_BPF_H */
