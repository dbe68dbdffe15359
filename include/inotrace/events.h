/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The binary ABI between inotrace's BPF programs and its userspace: every record that crosses
 * the ring buffer (live events) or an iterator's seq_file (snapshot records).
 *
 * Rules: fixed-width fields only, names prefixed `inotrace_` / `INOTRACE_`, every record starts
 * with struct inotrace_hdr, padding is explicit, sizes are asserted on both sides. Records end
 * with a variable-length tail (`path`) of `path_len` bytes; hdr.size is the record's real size.
 * Device numbers are the kernel's dev_t (major << 20 | minor), not st_dev.
 */
#ifndef INOTRACE_EVENTS_H
#define INOTRACE_EVENTS_H

#ifdef __bpf__
/* vmlinux.h already provides __u8 ... __u64 */
#define INOTRACE_STATIC_ASSERT(c, m) _Static_assert(c, m)
#else
#include <linux/types.h>
#ifdef __cplusplus
#define INOTRACE_STATIC_ASSERT(c, m) static_assert(c, m)
#else
#define INOTRACE_STATIC_ASSERT(c, m) _Static_assert(c, m)
#endif
#endif

#define INOTRACE_COMM_LEN 16
#define INOTRACE_PATH_MAX 4096 /* PATH_MAX: user strings are bounded by it */

enum inotrace_rec_type {
	INOTRACE_REC_ADD = 1,              /* new watch */
	INOTRACE_REC_UPDATE = 2,           /* existing watch, mask changed */
	INOTRACE_REC_ADD_FAILED = 3,       /* inotify_add_watch returned an error */
	INOTRACE_REC_REMOVE = 4,           /* watch gone, with a reason */
	INOTRACE_REC_INSTANCE_CREATE = 5,  /* inotify_init / inotify_init1 succeeded */
	INOTRACE_REC_INSTANCE_DESTROY = 6, /* the instance's last reference went away */
	INOTRACE_REC_INIT_FAILED = 7,      /* inotify_init / inotify_init1 returned an error */
	INOTRACE_REC_SNAP_WATCH = 16,      /* snapshot (iterator): one watch of one instance */
	INOTRACE_REC_SNAP_INSTANCE = 17,   /* snapshot (iterator): one (pid, fd) holding an instance */
};

enum inotrace_reason {
	INOTRACE_REASON_NONE = 0,
	INOTRACE_REASON_RM_WATCH = 1,
	INOTRACE_REASON_INODE_DELETED = 2,
	INOTRACE_REASON_UNMOUNT = 3,
	INOTRACE_REASON_INSTANCE_CLOSED = 4,
	INOTRACE_REASON_ONESHOT = 5,
	INOTRACE_REASON_UNKNOWN = 6,
};

/* What the variable-length `path` tail holds. */
enum inotrace_path_kind {
	INOTRACE_PATH_NONE = 0,
	INOTRACE_PATH_USER = 1,   /* the string the caller passed to inotify_add_watch, NUL-terminated */
	INOTRACE_PATH_DENTRY = 2, /* dentry names from the target up to its superblock root,
				     leaf first, each NUL-terminated */
	INOTRACE_PATH_KERNFS = 3, /* kernfs node names (cgroup/sysfs), leaf first, NUL-separated */
	INOTRACE_PATH_USER_CWD = 4, /* a relative user string, NUL-terminated, then the caller's cwd
				       as DENTRY components (its mount in mnt_id) */
};

/* Record flags (inotrace_hdr.flags). */
#define INOTRACE_F_PATH_TRUNCATED (1u << 0) /* path tail hit its bound */
#define INOTRACE_F_MARK_GONE      (1u << 1) /* add succeeded but the mark vanished before exit */
#define INOTRACE_F_PATH_UNLINKED  (1u << 2) /* dentry walk met an unhashed (deleted) dentry */
#define INOTRACE_F_NO_DENTRY      (1u << 3) /* the inode has no dentry alias */
/* Snapshot watch records only: the path tail holds the leaf's name alone; its parent's names are
 * those of the previous watch record of the same run without that record's leaf. Userspace
 * joins them and clears the flag: it never reaches an output. */
#define INOTRACE_F_PATH_SIBLING   (1u << 4)
/* Snapshot instance record flags */
#define INOTRACE_F_SNAP_DUPLICATE (1u << 8)  /* instance already walked through another fd */
#define INOTRACE_F_SNAP_TRUNCATED (1u << 9)  /* not every mark was walked */
#define INOTRACE_F_SNAP_RACE      (1u << 10) /* marks_list changed under the walk */
/* The walk paused for room in its ring and the file it paused at was gone when the iterator came
 * back: the records it sent are not to be trusted (the instance may be another one now at the
 * same address), the instance is read from fdinfo. Set with INOTRACE_F_SNAP_TRUNCATED. */
#define INOTRACE_F_SNAP_WALK_DROPPED (1u << 11)

struct inotrace_hdr {
	__u16 type;   /* enum inotrace_rec_type */
	__u16 size;   /* whole record in bytes, header and path tail included */
	__u32 flags;  /* INOTRACE_F_* */
	__u64 ts_ns;  /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
};
INOTRACE_STATIC_ASSERT(sizeof(struct inotrace_hdr) == 16, "inotrace_hdr size");

/* Who did it. */
struct inotrace_task {
	__u32 pid;   /* tgid */
	__u32 tid;
	__u32 uid;   /* current uid (init user namespace) */
	__u32 _pad0;
	__u64 cgroup_id;
	char comm[INOTRACE_COMM_LEN];
};
INOTRACE_STATIC_ASSERT(sizeof(struct inotrace_task) == 40, "inotrace_task size");

/* Whose limit a watch counts against: the instance's ucounts (user namespace, uid), read at
 * the moment of the event. */
struct inotrace_ucount {
	__s64 watches;     /* UCOUNT_INOTIFY_WATCHES of (userns, uid); -1 if unreadable */
	__s64 max_watches; /* that namespace's limit (max_user_watches in the init namespace) */
	__u32 uid;         /* the uid charged (euid at inotify_init) */
	__u32 userns_ino;  /* inode number of the user namespace (ls -l /proc/PID/ns/user) */
};
INOTRACE_STATIC_ASSERT(sizeof(struct inotrace_ucount) == 24, "inotrace_ucount size");

/* add / update / add_failed / remove */
struct inotrace_watch_event {
	struct inotrace_hdr hdr;       /*   0 */
	struct inotrace_task task;     /*  16 */
	__u64 group;                   /*  56 fsnotify_group pointer: with group_seq, the instance */
	__u64 group_seq;               /*  64 creation time (CLOCK_MONOTONIC ns, unique per instance);
					      0 = created before tracing began */
	__u64 ino;                     /*  72 */
	__u32 dev;                     /*  80 kernel dev_t of the watched inode's superblock */
	__s32 fd;                      /*  84 inotify fd used by the syscall; -1 if none */
	__s32 wd;                      /*  88 */
	__u32 mask;                    /*  92 watch mask after the operation (fdinfo's mask) */
	__u32 req_mask;                /*  96 mask argument of inotify_add_watch */
	__s32 err;                     /* 100 positive errno on failures, 0 otherwise */
	struct inotrace_ucount ucount; /* 104 */
	__u8 reason;                   /* 128 enum inotrace_reason (removals) */
	__u8 path_kind;                /* 129 enum inotrace_path_kind */
	__u16 path_len;                /* 130 bytes used in path[] */
	__s32 mnt_id;                  /* 132 mount id (mountinfo's first field) of the mount of a
					      DENTRY path (or of the cwd, USER_CWD); 0 if unknown */
	__u16 stack_len;               /* 136 bytes of the creating user stack (add, update,
					      add_failed with stacks on): __u64 return addresses,
					      innermost first, at inotrace_stack_offset() */
	__s16 stack_err;               /* 138 bpf_get_stack's negative errno when it failed, else 0 */
	__u32 _pad1;                   /* 140 */
	__u64 stack_top_word;          /* 144 with a stack: the word at the user stack pointer, the
					      return address into the caller of a frameless syscall
					      wrapper, which the frame-pointer walk skips; 0 unknown */
	char path[INOTRACE_PATH_MAX];  /* 152 variable-length tail */
};
#define INOTRACE_WATCH_EVENT_FIXED 152
INOTRACE_STATIC_ASSERT(sizeof(struct inotrace_watch_event) == INOTRACE_WATCH_EVENT_FIXED + INOTRACE_PATH_MAX,
		       "inotrace_watch_event size");

/* Creation stacks: at most this many frames, after the path tail, 8-byte aligned. */
#define INOTRACE_STACK_DEPTH 64
#define INOTRACE_STACK_BYTES (INOTRACE_STACK_DEPTH * 8)
static inline __u32 inotrace_stack_offset(__u32 path_len)
{
	return (INOTRACE_WATCH_EVENT_FIXED + path_len + 7) & ~7u;
}

/* instance_create / instance_destroy / init_failed */
struct inotrace_instance_event {
	struct inotrace_hdr hdr;       /*  0 */
	struct inotrace_task task;     /* 16 */
	__u64 group;                   /* 56 */
	__u64 group_seq;               /* 64 */
	__s32 fd;                      /* 72 */
	__s32 err;                     /* 76 positive errno on init_failed */
	__u32 init_flags;              /* 80 inotify_init1 flags */
	__u16 stack_len;               /* 84 instance_create / init_failed with stacks on: bytes of
					      the creating user stack at INOTRACE_INSTANCE_EVENT_FIXED */
	__s16 stack_err;               /* 86 bpf_get_stack's negative errno when it failed, else 0 */
	struct inotrace_ucount ucount; /* 88 watches = instances here: UCOUNT_INOTIFY_INSTANCES */
	__u64 stack_top_word;          /* 112 as in inotrace_watch_event */
};
#define INOTRACE_INSTANCE_EVENT_FIXED 120
INOTRACE_STATIC_ASSERT(sizeof(struct inotrace_instance_event) == INOTRACE_INSTANCE_EVENT_FIXED,
		       "inotrace_instance_event size");

/* Snapshot: one (process, fd) that refers to an inotify instance (several fds may share one). */
struct inotrace_snap_instance {
	struct inotrace_hdr hdr;       /*  0 */
	__u32 pid;                     /* 16 tgid */
	__s32 fd;                      /* 20 */
	__u64 group;                   /* 24 */
	char comm[INOTRACE_COMM_LEN];  /* 32 */
	struct inotrace_ucount ucount; /* 48 */
	__u32 uid;                     /* 72 task's uid */
	__u32 nr_marks;                /* 76 marks walked (bounded) */
	__u64 digest;                  /* 80 digest-only runs: xor of inotrace_watch_digest() over
					      the live watches (nr_marks counts them); else 0 */
	__s64 user_instances;          /* 88 UCOUNT_INOTIFY_INSTANCES of the same (userns, uid); -1 if
					      unreadable */
	__s64 max_user_instances;      /* 96 that namespace's instance limit */
};
INOTRACE_STATIC_ASSERT(sizeof(struct inotrace_snap_instance) == 104, "inotrace_snap_instance size");

/* One watch's contribution to its instance's digest (the same arithmetic in BPF and C++): a
 * reconciler compares instance digests first and reads watches only where they differ. The
 * target (ino, dev) is left out: it is fixed for a mark's life, and reading it costs. */
static inline __u64 inotrace_watch_digest(__s32 wd, __u32 mask)
{
	__u64 h = (((__u64)(__u32)wd << 32) | mask) * 0x9e3779b97f4a7c15ull;
	h ^= h >> 31;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 29;
	return h;
}

/* Snapshot: one watch, emitted once per instance (right after that instance's first
 * inotrace_snap_instance). */
struct inotrace_snap_watch {
	struct inotrace_hdr hdr;       /*  0 */
	__u64 group;                   /* 16 */
	__u64 ino;                     /* 24 */
	__u32 dev;                     /* 32 */
	__s32 wd;                      /* 36 */
	__u32 mask;                    /* 40 */
	__u8 path_kind;                /* 44 */
	__u8 _pad0;                    /* 45 */
	__u16 path_len;                /* 46 */
	char path[INOTRACE_PATH_MAX];  /* 48 variable-length tail */
};
#define INOTRACE_SNAP_WATCH_FIXED 48
INOTRACE_STATIC_ASSERT(sizeof(struct inotrace_snap_watch) == INOTRACE_SNAP_WATCH_FIXED + INOTRACE_PATH_MAX,
		       "inotrace_snap_watch size");

/* The value of the tracer's group_seqs map (bpf/maps.bpf.h), and its size: known to userspace
 * so that it can create that map before it has read the object (loader/early_maps.h). */
struct inotrace_group_info {
	__u64 seq;
	__u32 selected;
	__u32 _pad;
};
#define INOTRACE_GROUP_SEQS_ENTRIES 65536

/* Index of the per-CPU counters map (`counters`). */
enum inotrace_counter {
	INOTRACE_CNT_RINGBUF_DROPS = 0, /* bpf_ringbuf_output failed: the ring buffer was full */
	INOTRACE_CNT_PENDING_FULL = 1,  /* no room for a syscall's per-thread state (hash full, or a task-local slot not allocated) */
	INOTRACE_CNT_GROUP_UNRESOLVED = 2, /* fd did not lead to an inotify group at exit */
	INOTRACE_CNT_GROUPS_ENTERED = 3, /* entries written to group_seqs: a collection of dead groups waits for these */
	INOTRACE_CNT_GROUPS_FULL = 4,    /* group_seqs was full: an instance went without its sequence number */
	INOTRACE_CNT_MAX = 8,
};

#endif /* INOTRACE_EVENTS_H */
