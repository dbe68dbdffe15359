/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one set of handlers every backend calls. Entry points (tracepoint today; fentry/kprobe as
 * thin wrappers) only gather their arguments and call these.
 */
#ifndef INOTRACE_WATCH_HANDLERS_BPF_H
#define INOTRACE_WATCH_HANDLERS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "inotrace/events.h"
#include "maps.bpf.h"
#include "inotify_read.bpf.h"
#include "target_path.bpf.h"
#include "target_path_loop.bpf.h"
#include "task_filter.bpf.h"
#include "user_stack.bpf.h"
#include "kernel_reads.bpf.h"

/* Where the looped name walks (target_path_loop.bpf.h) write: the record's path. */
static __always_inline char *name_walk_buffer(void)
{
	__u32 zero = 0;
	struct watch_scratch_value *v = bpf_map_lookup_elem(&watch_scratch, &zero);
	return v ? v->e.path : NULL;
}

/* How a program walks a path's names: inline bounded loops (any kernel), or bpf_loop callbacks
 * (5.17+), which the verifier checks once instead of once per step: the tracepoint exit
 * programs verify in a fraction of the time, most of a short command's start-up. A constant per
 * program; userspace loads the variant the kernel runs (ProgramSpec::walks). */
enum name_walks { NAMES_INLINE, NAMES_LOOPED };

/* dentry_path_from() into e->path at `off`, inline or looped. */
static __always_inline void event_dentry_path(struct inotrace_watch_event *e, struct dentry *d, __u32 off,
					      struct path_result *r, const enum name_walks walks, const enum kernel_reads reads)
{
	if (walks == NAMES_LOOPED)
		dentry_path_looped(d, off, r, reads); /* e is the scratch value: name_walk_buffer() */
	else
		dentry_path_from(d, e->path, off, r);
}

/* inode_path() into e->path, inline or looped. */
static __always_inline void event_inode_path(struct inotrace_watch_event *e, struct inode *inode,
					     struct path_result *r, const enum name_walks walks, const enum kernel_reads reads)
{
	if (walks == NAMES_LOOPED) {
		struct inode_fields in;
		read_inode_as(inode, &in, NULL, reads);
		inode_path_looped(inode, &in, r, reads);
	} else {
		inode_path(inode, e->path, r);
	}
}

/* Every write to group_seqs, counted: where the map grows on demand (userspace chose so, see
 * loader/tracer.cpp), userspace collects the entries of dead groups once enough were written. A
 * full map is counted too: that instance's records carry no sequence number. */
static __always_inline void group_seqs_put(__u64 key, struct inotrace_group_info *gi, __u64 flags)
{
	long err = bpf_map_update_elem(&group_seqs, &key, gi, flags);
	if (!err)
		count(INOTRACE_CNT_GROUPS_ENTERED);
	else if (err != -17) /* -EEXIST: BPF_NOEXIST found it there, as intended */
		count(INOTRACE_CNT_GROUPS_FULL);
}

/* The instance's entry in group_seqs, or NULL. */
static __always_inline struct inotrace_group_info *group_info(struct fsnotify_group *group)
{
	__u64 key = (__u64)group;
	return bpf_map_lookup_elem(&group_seqs, &key);
}

static __always_inline __u64 group_seq(struct fsnotify_group *group)
{
	struct inotrace_group_info *gi = group_info(group);
	return gi ? gi->seq : 0;
}

/* Remembers that a selected task uses this instance (see group_info.selected); `gi`: its entry
 * if the caller has looked it up already. Without filters every task is selected and nothing
 * reads the mark: no hash lookup or insert per add. */
static __always_inline void mark_info_selected(struct fsnotify_group *group, struct inotrace_group_info *gi)
{
	if (!group || !task_filters_set())
		return;
	if (gi) {
		gi->selected = 1;
		return;
	}
	struct inotrace_group_info fresh = {.seq = 0, .selected = 1};
	group_seqs_put((__u64)group, &fresh, BPF_NOEXIST);
}

static __always_inline void mark_group_selected(struct fsnotify_group *group)
{
	if (group && task_filters_set())
		mark_info_selected(group, group_info(group));
}

static __always_inline bool group_selected(struct fsnotify_group *group)
{
	__u64 key = (__u64)group;
	struct inotrace_group_info *gi = bpf_map_lookup_elem(&group_seqs, &key);
	return gi && gi->selected;
}

static __always_inline struct inotrace_watch_event *watch_event_begin(__u16 type)
{
	__u32 zero = 0;
	struct watch_scratch_value *v = bpf_map_lookup_elem(&watch_scratch, &zero);
	if (!v)
		return NULL;
	struct inotrace_watch_event *e = &v->e;
	e->hdr.type = type;
	e->hdr.flags = 0;
	e->hdr.ts_ns = bpf_ktime_get_ns();
	fill_task(&e->task);
	e->group = 0;
	e->group_seq = 0;
	e->ino = 0;
	e->dev = 0;
	e->fd = -1;
	e->wd = -1;
	e->mask = 0;
	e->req_mask = 0;
	e->err = 0;
	e->reason = INOTRACE_REASON_NONE;
	e->path_kind = INOTRACE_PATH_NONE;
	e->path_len = 0;
	e->mnt_id = 0;
	e->stack_len = 0;
	e->stack_err = 0;
	e->stack_top_word = 0;
	e->ucount.watches = -1;
	e->ucount.max_watches = -1;
	e->ucount.uid = (__u32)-1;
	e->ucount.userns_ino = 0;
	return e;
}

static __always_inline __u32 watch_event_size(struct inotrace_watch_event *e)
{
	__u32 len = e->path_len;
	if (len > INOTRACE_PATH_MAX)
		len = INOTRACE_PATH_MAX;
	return INOTRACE_WATCH_EVENT_FIXED + len;
}

static __always_inline void watch_event_output(struct inotrace_watch_event *e, __u32 size)
{
	e->hdr.size = size;
	events_output(e, size);
}

static __always_inline void watch_event_submit(struct inotrace_watch_event *e)
{
	watch_event_output(e, watch_event_size(e));
}

/* With --stacks: the calling task's user stack rides after the path (ctx: the entry point's
 * own context; the user registers come from the task, so every program type gives the same
 * stack). Without, the verifier drops this as dead code. */
static __always_inline void watch_event_submit_with_stack(struct inotrace_watch_event *e, void *ctx)
{
	__u32 size = watch_event_size(e);
	if (capture_stacks) {
		__u32 off = (size + 7) & ~7u;
		if (off > INOTRACE_WATCH_EVENT_FIXED + INOTRACE_PATH_MAX)
			goto out;
		long n = read_user_stack(ctx, (__u64 *)((char *)e + off));
		if (n <= 0) {
			e->stack_err = n < 0 ? n : -61; /* -ENODATA: no frame */
			goto out;
		}
		if (n > INOTRACE_STACK_BYTES)
			n = INOTRACE_STACK_BYTES;
		e->stack_len = n;
		e->stack_top_word = user_stack_top_word();
		size = off + n;
	}
out:
	watch_event_output(e, size);
}

static __always_inline void set_user_path(struct inotrace_watch_event *e, const char *upath, const enum name_walks walks,
					  const enum kernel_reads reads)
{
	if (!upath)
		return;
	long n = bpf_probe_read_user_str(e->path, INOTRACE_PATH_MAX, upath);
	if (n <= 0)
		return;
	e->path_len = n;
	e->path_kind = INOTRACE_PATH_USER;
	if (n == INOTRACE_PATH_MAX)
		e->hdr.flags |= INOTRACE_F_PATH_TRUNCATED;
	if (e->path[0] == '/')
		return;
	/* Relative to the caller's cwd, which may change before userspace could read it: append
	 * the cwd's dentry names now, with its mount. */
	struct task_struct *task = (void *)bpf_get_current_task();
	struct dentry *cwd = BPF_CORE_READ(task, fs, pwd.dentry);
	if (!cwd)
		return;
	struct path_result r = {};
	event_dentry_path(e, cwd, n, &r, walks, reads);
	e->path_kind = INOTRACE_PATH_USER_CWD;
	e->path_len = r.len;
	e->hdr.flags |= r.flags;
	e->mnt_id = vfsmount_id(BPF_CORE_READ(task, fs, pwd.mnt));
}

/* What the record of a watch says of (group, wd): its mark (0: none) and, where readable, its
 * target (inode 0: not). */
struct wd_target {
	__u64 mark;
	__u64 inode;
	__u64 ino;
	__u32 dev;
	__u32 mask;
};

static __always_inline void find_wd_target(struct fsnotify_group *group, __s32 wd, struct wd_target *w,
					   const enum kernel_reads reads)
{
	struct mark_target t;
	__builtin_memset(w, 0, sizeof(*w));
	if (reads == READS_TYPED) {
		struct inotify_inode_mark *m = typed_mark_of_wd(group, wd);
		if (!m)
			return;
		w->mark = (__u64)m;
		if (!typed_mark_target(m, &t))
			return;
		w->mask = typed_mark_user_mask(m);
	} else {
		struct group_fields gf;
		struct mark_fields m;
		read_group(group, &gf);
		struct fsnotify_mark *mark = mark_of_wd_fields(group, &gf, wd, &m);
		if (!mark)
			return;
		w->mark = (__u64)mark;
		if (!read_mark_target(&m, &t))
			return;
		w->mask = m.user_mask;
	}
	w->inode = (__u64)t.inode;
	w->ino = t.ino;
	w->dev = t.dev;
}

/* The inotify group behind the current task's fd, or NULL. */
static __always_inline struct fsnotify_group *fd_group(int fd, const enum kernel_reads reads)
{
	return reads == READS_TYPED ? typed_group_of_fd(fd) : group_of_fd(fd);
}

/* The group at an address a pending call kept. */
static __always_inline struct fsnotify_group *group_at(__u64 addr, const enum kernel_reads reads)
{
	return reads == READS_TYPED ? typed_group(addr) : (struct fsnotify_group *)addr;
}

static __always_inline void group_ucount(struct fsnotify_group *group, __u32 which, struct inotrace_ucount *out,
					 const enum kernel_reads reads)
{
	if (reads == READS_TYPED)
		typed_read_ucount(group, which, out);
	else
		read_ucount(group, which, out);
}

/* Which exit hook reports an add: only the hooked backends (fentry, kprobe) see the struct path
 * the kernel resolved. A constant per program, so the tracepoint backend's exit program carries
 * no dentry walk for the verifier to check (it cost 21 ms of every start-up on 6.18). */
enum add_exit_kind { ADD_EXIT_SYSCALL_ONLY, ADD_EXIT_HOOKED };

/*
 * inotify_add_watch returned `ret` for `fd`. idr_next_before is the group's idr_next when the
 * call began: idr_alloc_cyclic hands out ids >= idr_next, updates return older wds, so
 * `ret >= idr_next_before` means a new watch (inotify_add_to_idr, fs/notify/inotify/inotify_user.c).
 */
static __always_inline void handle_add_result(struct pending_call *pc, long ret, void *ctx,
					     const enum add_exit_kind kind, const enum name_walks walks,
					     const enum kernel_reads reads)
{
	const bool hooked = kind == ADD_EXIT_HOOKED && pc->hooked;
	struct inotrace_watch_event *e = watch_event_begin(INOTRACE_REC_ADD);
	if (!e)
		return;
	int fd = pc->fd;
	e->fd = fd;
	e->req_mask = pc->req_mask;
	struct notify_path np = {};
	if (hooked) {
		__u32 tid = (__u32)bpf_get_current_pid_tgid();
		struct notify_path *found = bpf_map_lookup_elem(&notify_paths, &tid);
		if (found) {
			np = *found;
			bpf_map_delete_elem(&notify_paths, &tid);
		}
	}
	struct path_result r = {};
	if (np.dentry && ret >= 0) {
		/* Hooked backends saw the struct path the kernel resolved: its dentry names inside the
		 * filesystem plus the mount's id (userspace adds the mount point). */
		event_dentry_path(e, (struct dentry *)np.dentry, 0, &r, walks, reads);
		e->mnt_id = vfsmount_id((struct vfsmount *)np.mnt);
	}
	if (r.kind && (!(r.flags & INOTRACE_F_PATH_TRUNCATED) || !pc->user_path)) {
		e->path_kind = r.kind;
		e->path_len = r.len;
		e->hdr.flags |= r.flags;
	} else {
		e->mnt_id = 0; /* too deep for the walk: the caller's own string is whole */
		set_user_path(e, (const char *)pc->user_path, walks, reads);
	}

	/* The group as resolved at entry (fd table), or as inotify_update_watch received it. */
	struct fsnotify_group *group = pc->group ? group_at(pc->group, reads) : fd_group(fd, reads);
	struct inotrace_group_info *gi = NULL; /* one lookup for the sequence and the mark below */
	if (group) {
		e->group = (__u64)group;
		gi = group_info(group);
		e->group_seq = gi ? gi->seq : 0;
		group_ucount(group, ucount_watches_index(), &e->ucount, reads);
	}
	if (ret < 0) {
		e->hdr.type = INOTRACE_REC_ADD_FAILED;
		e->err = -ret;
		watch_event_submit_with_stack(e, ctx);
		return;
	}
	e->wd = ret;
	if (!group)
		count(INOTRACE_CNT_GROUP_UNRESOLVED);
	mark_info_selected(group, gi);
	struct wd_target t;
	find_wd_target(group, ret, &t, reads);
	void *mark = (void *)t.mark;
	if (hooked) {
		/* Exact: a new watch is a mark fsnotify_add_mark_locked created during this call. If
		 * the wd no longer leads to a mark (a racing unlink removed it, and its wd is -1 now),
		 * a mark created in this call was still this add's: an update creates none. */
		struct inotify_inode_mark *created = (void *)pc->new_mark;
		if (!created || (mark && (void *)mark != (void *)created))
			e->hdr.type = INOTRACE_REC_UPDATE;
	} else if (pc->have_idr_next && (__u32)ret < pc->idr_next) {
		e->hdr.type = INOTRACE_REC_UPDATE;
	}
	if (!mark) {
		e->hdr.flags |= INOTRACE_F_MARK_GONE;
	} else if (t.inode) {
		e->ino = t.ino;
		e->dev = t.dev;
		e->mask = t.mask;
	}
	watch_event_submit_with_stack(e, ctx);
}

/* Removal of a watch whose target was captured before it went away. */
static __always_inline void handle_removal(struct pending_call *pc, __u8 reason, const enum name_walks walks,
					  const enum kernel_reads reads)
{
	struct inotrace_watch_event *e = watch_event_begin(INOTRACE_REC_REMOVE);
	if (!e)
		return;
	struct fsnotify_group *group = (void *)pc->group;
	e->fd = pc->fd;
	e->wd = pc->wd;
	e->ino = pc->ino;
	e->dev = pc->dev;
	e->mask = pc->mask;
	e->reason = reason;
	e->group = pc->group;
	e->group_seq = group_seq(group);
	group_ucount(group_at(pc->group, reads), ucount_watches_index(), &e->ucount, reads);
	/* The inode is still pinned here: the mark's connector drops its reference only after an
	 * SRCU grace period, so the dentry walk reads live objects. */
	struct path_result r = {};
	event_inode_path(e, (struct inode *)pc->inode, &r, walks, reads);
	e->path_kind = r.kind;
	e->path_len = r.len;
	e->hdr.flags |= r.flags;
	watch_event_submit(e);
}

/* Snapshot of the mark behind (fd, wd) before inotify_rm_watch destroys it. */
static __always_inline bool capture_mark(struct pending_call *pc, int fd, __s32 wd, const enum kernel_reads reads)
{
	struct fsnotify_group *group = fd_group(fd, reads);
	struct wd_target t;
	find_wd_target(group, wd, &t, reads);
	if (!t.inode)
		return false;
	pc->fd = fd;
	pc->wd = wd;
	pc->group = (__u64)group;
	pc->inode = t.inode;
	pc->ino = t.ino;
	pc->dev = t.dev;
	pc->mask = t.mask;
	return true;
}

/* The calling task's own ucounts, for init failures where no group exists yet: tells
 * max_user_instances apart from RLIMIT_NOFILE for EMFILE. */
static __always_inline void read_task_ucount(__u32 which, struct inotrace_ucount *out)
{
	read_ucounts(current_cred_ucounts(), which, out);
}

/* An instance record; with --stacks, reserved at its largest in the ring and built there with
 * the creating user stack after it (too big for the 512-byte BPF stack; not in the per-CPU
 * scratch either, which a preempted program would share with the next one on its CPU). Inits
 * are rare: the unused tail of the reservation costs nothing that matters. */
static __always_inline void instance_event_submit_with_stack(struct inotrace_instance_event *e, void *ctx)
{
	if (!capture_stacks) {
		events_output(e, sizeof(*e));
		return;
	}
	char *buf = bpf_ringbuf_reserve(&events, INOTRACE_INSTANCE_EVENT_FIXED + INOTRACE_STACK_BYTES, 0);
	if (!buf) {
		count(INOTRACE_CNT_RINGBUF_DROPS);
		return;
	}
	struct inotrace_instance_event *r = (struct inotrace_instance_event *)buf;
	__builtin_memcpy(r, e, sizeof(*e));
	long n = read_user_stack(ctx, (__u64 *)(buf + INOTRACE_INSTANCE_EVENT_FIXED));
	if (n <= 0) {
		r->stack_err = n < 0 ? n : -61; /* -ENODATA: no frame */
		n = 0;
	}
	if (n > INOTRACE_STACK_BYTES)
		n = INOTRACE_STACK_BYTES;
	r->stack_len = n;
	r->stack_top_word = n ? user_stack_top_word() : 0;
	r->hdr.size = INOTRACE_INSTANCE_EVENT_FIXED + n;
	events_submit(buf);
}

/* inotify_init/init1 returned `ret`. Every new instance gets its sequence number (pointers are
 * reused), but only `selected` tasks produce a record. */
static __always_inline void handle_init_result(__u32 flags, long ret, bool selected, void *ctx)
{
	struct inotrace_instance_event e = {};
	e.hdr.size = sizeof(e);
	e.hdr.ts_ns = bpf_ktime_get_ns();
	fill_task(&e.task);
	e.init_flags = flags;
	e.fd = -1;
	read_ucount(NULL, 0, &e.ucount);
	if (ret < 0) {
		e.hdr.type = INOTRACE_REC_INIT_FAILED;
		e.err = -ret;
		read_task_ucount(ucount_instances_index(), &e.ucount);
	} else {
		struct fsnotify_group *group = group_of_fd(ret);
		e.hdr.type = INOTRACE_REC_INSTANCE_CREATE;
		e.fd = ret;
		if (group) {
			__u64 key = (__u64)group;
			/* Creation time as the sequence: unique, and needs no atomic fetch-and-add
			 * (whose returned value the 5.10 verifier rejects). */
			struct inotrace_group_info gi = {.seq = e.hdr.ts_ns, .selected = selected};
			__u64 seq = gi.seq;
			group_seqs_put(key, &gi, BPF_ANY);
			e.group = key;
			e.group_seq = seq;
			read_ucount(group, ucount_instances_index(), &e.ucount);
		} else {
			count(INOTRACE_CNT_GROUP_UNRESOLVED);
		}
	}
	if (!selected)
		return;
	instance_event_submit_with_stack(&e, ctx);
}

static __always_inline __u32 current_tid(void)
{
	return (__u32)bpf_get_current_pid_tgid();
}

/* The current task's slot in task-local storage (pending_per_task); `flags`: 0 or
 * BPF_LOCAL_STORAGE_GET_F_CREATE. */
static __always_inline struct pending_call *task_pending_slot(__u64 flags)
{
	return bpf_task_storage_get(&pending, bpf_get_current_task_btf(), 0, flags);
}

/* This thread's pending call, or NULL; its kind says what is pending (0: nothing, in a
 * task-local slot that was taken). */
static __always_inline struct pending_call *pending_slot(void)
{
	if (pending_per_task)
		return task_pending_slot(0);
	__u32 tid = current_tid();
	return bpf_map_lookup_elem(&pending, &tid);
}

static __always_inline void pending_store(struct pending_call *pc)
{
	if (pending_per_task) {
		struct pending_call *slot = task_pending_slot(BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (slot)
			__builtin_memcpy(slot, pc, sizeof(*slot));
		else
			count(INOTRACE_CNT_PENDING_FULL);
		return;
	}
	__u32 tid = current_tid();
	if (bpf_map_update_elem(&pending, &tid, pc, BPF_ANY))
		count(INOTRACE_CNT_PENDING_FULL);
}

/* Takes (and removes) this thread's pending call of `kind`. */
static __always_inline bool pending_take(__u32 kind, struct pending_call *out)
{
	struct pending_call *pc = pending_slot();
	if (!pc)
		return false;
	/* Copied whatever its kind: a copy only when it matches gave clang's register allocation a
	 * path the verifier cannot follow (a register set on one side of `match` only). */
	__builtin_memcpy(out, pc, sizeof(*out));
	if (pending_per_task) {
		pc->kind = 0; /* the slot stays with the thread, empty */
	} else {
		__u32 tid = current_tid();
		bpf_map_delete_elem(&pending, &tid);
	}
	return out->kind == kind;
}


/* inotify_add_watch began (any backend). */
static __always_inline void add_enter(int fd, const char *upath, __u32 mask, bool hooked, const enum kernel_reads reads)
{
	if (!task_selected())
		return;
	struct pending_call pc = {};
	pc.kind = PENDING_ADD;
	pc.fd = fd;
	pc.user_path = (__u64)upath;
	pc.req_mask = mask;
	pc.hooked = hooked;
	pc.via_syscall = 1;
	struct fsnotify_group *group = fd_group(fd, reads);
	if (group) {
		if (reads == READS_TYPED) {
			pc.idr_next = typed_idr_next(group);
		} else {
			struct group_fields gf;
			read_group(group, &gf);
			pc.idr_next = gf.idr_next;
		}
		pc.group = (__u64)group;
		pc.have_idr_next = 1;
		/* Now, not at exit: a watch removed before the add returns (a racing unlink) must
		 * still be reported by the removal hook, or the add goes unmatched. */
		mark_group_selected(group);
	}
	pending_store(&pc);
}

/* inotify_add_watch returned. The user path is read here: the kernel has just copied it, so
 * it is resident. */
static __always_inline void add_exit(long ret, void *ctx, const enum add_exit_kind kind, const enum name_walks walks,
				     const enum kernel_reads reads)
{
	struct pending_call pc;
	if (!pending_take(PENDING_ADD, &pc))
		return;
	handle_add_result(&pc, ret, ctx, kind, walks, reads);
}

static __always_inline int init_enter(__u32 flags)
{
	struct pending_call pc = {};
	pc.kind = PENDING_INIT;
	pc.req_mask = flags;
	pc.selected = task_selected();
	pending_store(&pc);
	return 0;
}

static __always_inline int init_exit(long ret, void *ctx)
{
	struct pending_call pc;
	if (!pending_take(PENDING_INIT, &pc)) {
		/* No entry hook (fentry on kernels whose BTF hides syscall arguments): flags unknown. */
		pc.req_mask = 0;
		pc.selected = task_selected();
	}
	handle_init_result(pc.req_mask, ret, pc.selected, ctx);
	return 0;
}


#endif /* INOTRACE_WATCH_HANDLERS_BPF_H */
