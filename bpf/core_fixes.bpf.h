/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Every kernel layout difference inotrace depends on, in one place. Each helper decides by
 * CO-RE existence/size checks or by runtime self-validation, never by kernel version, and
 * cites the kernel commit that made the difference.
 */
#ifndef INOTRACE_CORE_FIXES_BPF_H
#define INOTRACE_CORE_FIXES_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

/* ---- fsnotify_mark_connector -> inode ------------------------------------------------------
 * 36f10f55ff1d2 "fsnotify: let connector point to an abstract object" (4.18..6.9):
 *     conn->obj is a fsnotify_connp_t *, i.e. &inode->i_fsnotify_marks.
 * "fsnotify: pass object pointer and type to fsnotify mark helpers" (A. Goldstein, 6.10):
 *     conn->obj is the inode itself.
 * Both are `void *`-ish pointers named `obj`, so CO-RE cannot tell them apart: validate at
 * run time. If *(void **)obj == conn, obj is &inode->i_fsnotify_marks; otherwise obj must be an
 * inode whose i_fsnotify_marks is conn (an inode starts with small integers, never a pointer).
 * d6f7b98bc8147 added conn->type; its width went u32 -> u16 -> u8: read it probed.
 */
static __always_inline struct inode *inode_of_conn(struct fsnotify_mark_connector *conn, __u32 type, void *obj)
{
	if (type != bpf_core_enum_value(enum fsnotify_obj_type, FSNOTIFY_OBJ_TYPE_INODE))
		return NULL;
	if (!obj)
		return NULL;
	void *first = NULL;
	bpf_probe_read_kernel(&first, sizeof(first), obj);
	if (first == (void *)conn)
		return (struct inode *)(obj - bpf_core_field_offset(struct inode, i_fsnotify_marks));
	struct inode *inode = obj;
	if ((void *)BPF_CORE_READ(inode, i_fsnotify_marks) == (void *)conn)
		return inode;
	return NULL;
}

static __always_inline struct inode *conn_inode(struct fsnotify_mark_connector *conn)
{
	if (!conn)
		return NULL;
	return inode_of_conn(conn, BPF_CORE_READ_BITFIELD_PROBED(conn, type), BPF_CORE_READ(conn, obj));
}

/* ---- mark flags ----------------------------------------------------------------------------
 * Up to 5.18 (and unpatched stables such as 5.15.100) IN_ONESHOT / IN_EXCL_UNLINK live in
 * mark->mask; from 5.19 (and backported to Debian 5.10.262) they moved to mark->flags as
 * FSNOTIFY_MARK_FLAG_IN_ONESHOT 0x20 / FSNOTIFY_MARK_FLAG_EXCL_UNLINK 0x10 (commit
 * "inotify: move control flags from mask to mark flags", A. Goldstein, v5.19). Old flag
 * values only use bits 0x1..0x4 and new kernels never store those bits in mask, so testing both
 * places is exact on either scheme.
 */
#define INOTRACE_IN_ALL_EVENTS 0x00000fffu
#define INOTRACE_IN_EXCL_UNLINK 0x04000000u
#define INOTRACE_IN_ONESHOT 0x80000000u
#define INOTRACE_MARK_FLAG_EXCL_UNLINK_NEW 0x10u
#define INOTRACE_MARK_FLAG_IN_ONESHOT_NEW 0x20u

/* What fdinfo prints as mask (inotify_mark_user_mask()), from the mark's mask and flags. */
static __always_inline __u32 user_mask_of(__u32 mask, __u32 flags)
{
	__u32 user = mask & INOTRACE_IN_ALL_EVENTS;
	if ((mask & INOTRACE_IN_ONESHOT) || (flags & INOTRACE_MARK_FLAG_IN_ONESHOT_NEW))
		user |= INOTRACE_IN_ONESHOT;
	if ((mask & INOTRACE_IN_EXCL_UNLINK) || (flags & INOTRACE_MARK_FLAG_EXCL_UNLINK_NEW))
		user |= INOTRACE_IN_EXCL_UNLINK;
	return user;
}

static __always_inline __u32 mark_user_mask(struct fsnotify_mark *mark)
{
	return user_mask_of(BPF_CORE_READ(mark, mask), BPF_CORE_READ(mark, flags));
}

/* ---- ucounts -------------------------------------------------------------------------------
 * 1cce1eea0aff "inotify: Convert to using per-namespace limits" (4.11) put the counters in
 * struct ucounts. ucount[] was atomic_t until 5.14 and is atomic_long_t since commit
 * "Increase size of ucounts to atomic_long_t" (A. Gladkov, v5.14); user_namespace.ucount_max[] went int -> long in
 * the same series. The element size is derived from the array's relocated size. The enum index
 * moved too (8 in 4.19/5.4, 9 from 5.6 when UCOUNT_TIME_NAMESPACES was inserted).
 */
static __always_inline __s64 read_long_array_elem(const void *array, __u32 array_size, __u32 index)
{
	__u32 n = bpf_core_enum_value(enum ucount_type, UCOUNT_COUNTS);
	if (n == 0 || index >= n)
		return -1;
	__u32 elem = array_size / n;
	if (elem == 8) {
		__s64 v = -1;
		bpf_probe_read_kernel(&v, sizeof(v), array + (__u64)index * 8);
		return v;
	}
	__s32 v = -1;
	bpf_probe_read_kernel(&v, sizeof(v), array + (__u64)index * 4);
	return v;
}

static __always_inline __s64 ucounts_value(struct ucounts *uc, __u32 index)
{
	return read_long_array_elem((void *)uc + bpf_core_field_offset(struct ucounts, ucount),
				    bpf_core_field_size(uc->ucount), index);
}

static __always_inline __s64 userns_ucount_max(struct user_namespace *ns, __u32 index)
{
	return read_long_array_elem((void *)ns + bpf_core_field_offset(struct user_namespace, ucount_max),
				    bpf_core_field_size(ns->ucount_max), index);
}

/* ---- cred->ucounts ----------------------------------------------------------------------------
 * Commit "Add a reference to ucounts for each cred" (A. Gladkov, v5.14) added cred->ucounts;
 * before it the task's own counters are not reachable from BPF: NULL. */
struct cred___ucounts {
	struct ucounts *ucounts;
} __attribute__((preserve_access_index));

static __always_inline struct ucounts *current_cred_ucounts(void)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct cred___ucounts *cred = (void *)BPF_CORE_READ(task, cred);
	if (!bpf_core_field_exists(cred->ucounts))
		return NULL;
	return BPF_CORE_READ(cred, ucounts);
}

/* ---- kernfs_node parent ----------------------------------------------------------------------
 * Commit "kernfs: Use RCU to access kernfs_node::parent." (S. Andrzej Siewior, v6.15) renamed
 * parent to __parent. */
struct kernfs_node___v615 {
	struct kernfs_node *__parent;
} __attribute__((preserve_access_index));

static __always_inline struct kernfs_node *kernfs_parent(struct kernfs_node *kn)
{
	struct kernfs_node___v615 *v615 = (void *)kn;
	if (bpf_core_field_exists(v615->__parent))
		return BPF_CORE_READ(v615, __parent);
	return BPF_CORE_READ(kn, parent);
}

#endif /* INOTRACE_CORE_FIXES_BPF_H */
