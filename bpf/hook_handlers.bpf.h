/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Handlers for the backends that hook inotify's own kernel functions (fentry, kprobe): they see
 * every removal at the moment it happens and classify its cause in the kernel
 * (classify_removal below). Entry points in entry_fentry.bpf.h / entry_kprobe.bpf.h are thin.
 */
#ifndef INOTRACE_HOOK_HANDLERS_BPF_H
#define INOTRACE_HOOK_HANDLERS_BPF_H

#include "watch_handlers.bpf.h"

#define INOTRACE_SB_ACTIVE (1ul << 30) /* include/linux/fs.h; a macro, not in BTF */

/* security_path_notify(path, ...) inside inotify_add_watch: the target as the kernel resolved
 * it (after symlinks, in the caller's mount namespace). */
static __always_inline void hooked_path_notify(const struct path *path, __u32 obj_type)
{
	if (obj_type != bpf_core_enum_value(enum fsnotify_obj_type, FSNOTIFY_OBJ_TYPE_INODE))
		return;
	__u32 tid = current_tid();
	struct notify_path np = {
		.mnt = (__u64)BPF_CORE_READ(path, mnt),
		.dentry = (__u64)BPF_CORE_READ(path, dentry),
	};
	bpf_map_update_elem(&notify_paths, &tid, &np, BPF_ANY);
}

/* inotify_update_watch(group, inode, arg): the add reached the instance. Begins the add when
 * no syscall hook did (fentry where the kernel's BTF hides syscall arguments). */
static __always_inline void hooked_update_enter(struct fsnotify_group *group, __u32 arg)
{
	struct pending_call *pc = pending_slot();
	if (pc && pc->kind == PENDING_ADD) {
		pc->group = (__u64)group;
		return;
	}
	if (!task_selected())
		return;
	struct pending_call fresh = {};
	fresh.kind = PENDING_ADD;
	fresh.fd = -1;
	fresh.req_mask = arg;
	fresh.hooked = 1;
	fresh.group = (__u64)group;
	fresh.idr_next = BPF_CORE_READ(group, inotify_data.idr.idr_next);
	fresh.have_idr_next = 1;
	mark_group_selected(group); /* see add_enter */
	pending_store(&fresh);
}

static __always_inline void hooked_update_exit(long ret, void *ctx, const enum name_walks walks)
{
	struct pending_call *pc = pending_slot();
	if (!pc || pc->kind != PENDING_ADD || pc->via_syscall)
		return; /* the syscall's exit hook reports it (and failures before this point) */
	add_exit(ret, ctx, ADD_EXIT_HOOKED, walks, READS_PROBED);
}

/* fsnotify_add_mark_locked(mark, ...) succeeded inside inotify_add_watch: the new watch. Only
 * the first argument is read: the signature changed in 5.1, 6.8 and 6.10. */
static __always_inline void hooked_mark_added(struct fsnotify_mark *mark)
{
	struct pending_call *pc = pending_slot();
	if (!pc || pc->kind != PENDING_ADD || !mark)
		return;
	if ((__u64)BPF_CORE_READ(mark, group) != pc->group)
		return;
	pc->new_mark = (__u64)mark;
}

static __always_inline void hooked_rm_enter(int fd, __s32 wd)
{
	struct pending_call pc = {};
	pc.kind = PENDING_RM;
	pc.fd = fd;
	pc.wd = wd;
	pc.hooked = 1;
	pending_store(&pc);
}

static __always_inline void hooked_rm_exit(void)
{
	struct pending_call pc;
	pending_take(PENDING_RM, &pc);
}

/* Why a watch is going away, decided at inotify_freeing_mark entry, from what the removing task
 * is doing (inotify_rm_watch, fsnotify_sb_delete at unmount, fsnotify_destroy_group at close,
 * the inode's last reference at deletion). */
static __always_inline __u8 classify_removal(struct fsnotify_mark *mark, struct fsnotify_group *group,
					     struct inode *inode, struct pending_call *rm)
{
	if (BPF_CORE_READ(group, shutdown))
		return INOTRACE_REASON_INSTANCE_CLOSED; /* set by fsnotify_group_stop_queueing */
	if (rm)
		return INOTRACE_REASON_RM_WATCH;
	if (inode) {
		if (!(BPF_CORE_READ(inode, i_sb, s_flags) & INOTRACE_SB_ACTIVE))
			return INOTRACE_REASON_UNMOUNT; /* generic_shutdown_super cleared it first */
		if (BPF_CORE_READ(inode, i_nlink) == 0)
			return INOTRACE_REASON_INODE_DELETED;
	}
	if (mark_user_mask(mark) & INOTRACE_IN_ONESHOT)
		return INOTRACE_REASON_ONESHOT; /* the only cause left for a one-shot mark */
	return INOTRACE_REASON_UNKNOWN;
}

/* inotify_freeing_mark(mark, group): runs exactly once per watch, for every cause, never for a
 * failed add; wd, connector and inode are all still valid here (its caller: fsnotify_free_mark,
 * fs/notify/mark.c). */
static __always_inline void hooked_freeing_mark(struct fsnotify_mark *mark, struct fsnotify_group *group,
						const enum name_walks walks)
{
	if (!task_selected() && !group_selected(group))
		return;
	__s32 wd = BPF_CORE_READ((struct inotify_inode_mark *)mark, wd);
	if (wd <= 0)
		return;
	struct pending_call *rm = pending_slot();
	if (rm && (rm->kind != PENDING_RM || (rm->wd != wd && rm->wd != -1)))
		rm = NULL; /* wd -1: inside rm_watch, arguments unreadable on this kernel */
	struct inode *inode = mark_inode(mark);

	struct inotrace_watch_event *e = watch_event_begin(INOTRACE_REC_REMOVE);
	if (!e)
		return;
	e->group = (__u64)group;
	e->group_seq = group_seq(group);
	e->wd = wd;
	e->fd = rm ? rm->fd : -1;
	e->mask = mark_user_mask(mark);
	e->reason = classify_removal(mark, group, inode, rm);
	read_ucount(group, ucount_watches_index(), &e->ucount);
	if (inode) {
		e->ino = BPF_CORE_READ(inode, i_ino);
		e->dev = BPF_CORE_READ(inode, i_sb, s_dev);
		struct path_result r = {};
		event_inode_path(e, inode, &r, walks, READS_PROBED);
		e->path_kind = r.kind;
		e->path_len = r.len;
		e->hdr.flags |= r.flags;
	}
	watch_event_submit(e);
}

/* fsnotify_destroy_group(group): the instance's last reference is gone. Its watches are freed
 * inside (instance_closed); the destroy record is sent at exit, after them. */
static __always_inline void hooked_destroy_enter(struct fsnotify_group *group)
{
	if (!is_inotify_group(group))
		return;
	__u32 tid = current_tid();
	__u64 g = (__u64)group;
	bpf_map_update_elem(&destroying, &tid, &g, BPF_ANY);
}

static __always_inline void hooked_destroy_exit(void)
{
	__u32 tid = current_tid();
	__u64 *g = bpf_map_lookup_elem(&destroying, &tid);
	if (!g)
		return;
	__u64 group = *g;
	bpf_map_delete_elem(&destroying, &tid);
	struct inotrace_group_info *gi = bpf_map_lookup_elem(&group_seqs, &group);
	bool show = task_selected() || (gi && gi->selected);
	__u64 seq = gi ? gi->seq : 0;
	bpf_map_delete_elem(&group_seqs, &group); /* the pointer may be reused from now on */
	if (!show)
		return;
	struct inotrace_instance_event e = {};
	e.hdr.type = INOTRACE_REC_INSTANCE_DESTROY;
	e.hdr.size = sizeof(e);
	e.hdr.ts_ns = bpf_ktime_get_ns();
	fill_task(&e.task);
	e.group = group;
	e.group_seq = seq;
	e.fd = -1;
	read_ucount(NULL, 0, &e.ucount);
	events_output(&e, sizeof(e));
}

#endif /* INOTRACE_HOOK_HANDLERS_BPF_H */
