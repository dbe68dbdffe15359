/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The tracepoint programs' reads of inotify objects as plain loads, where the kernel lets a BPF
 * program give a pointer its kernel type (the bpf_rdonly_cast kfunc, 6.2+): the JIT guards each
 * load (a fault reads as 0, as a failed probe read does) at about a nanosecond, where each
 * bpf_probe_read_kernel is a helper call and a copy_from_kernel_nofault. On 6.18,
 * tp_enter_rm_watch's reads took 255 ns this way against 842 ns probed (bench/NOTES.md). Same
 * results as inotify_read.bpf.h; the _typed programs (entry_tracepoint.bpf.h) use these and
 * userspace loads them only where the kernel has the kfunc.
 *
 * Two things libbpf would do, the loader does instead (loader/typed_reads.h): the kfunc is
 * called as helper INOTRACE_TYPED_CAST_HELPER, which the loader rewrites into the kfunc's call
 * (a libbpf kfunc extern parses the kernel's whole BTF at every load, ~10 ms of start-up); and
 * the kernel type ids the kfunc takes are .rodata it sets from the per-boot id cache (the
 * minimal CO-RE BTF renumbers types: bpf_core_type_id_kernel would give its ids). The kernel
 * replaces the cast itself by a register move: it costs nothing at run time.
 */
#ifndef INOTRACE_TYPED_READ_BPF_H
#define INOTRACE_TYPED_READ_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "inotrace/typed_cast.h"
#include "inotify_read.bpf.h"

static void *(*const typed_cast)(const void *obj, __u32 btf_id) = (void *)INOTRACE_TYPED_CAST_HELPER;

const volatile __u32 kernel_id_file = 0;
const volatile __u32 kernel_id_fsnotify_group = 0;
const volatile __u32 kernel_id_xa_node = 0;
const volatile __u32 kernel_id_inotify_inode_mark = 0;
const volatile __u32 kernel_id_inode = 0;
const volatile __u32 kernel_id_task_struct = 0;
const volatile __u32 kernel_id_dentry = 0;

static __always_inline struct fsnotify_group *typed_group(__u64 addr)
{
	return addr ? typed_cast((void *)addr, kernel_id_fsnotify_group) : NULL;
}

/* The 8 bytes at `addr`, a pointer array's element at a variable index, as a typed load: the
 * verifier allows no variable offset from a typed pointer, so `addr` is cast as the xa_node whose
 * slots[0] lies there (any type with a pointer at a known offset would do; xa_node's id is at
 * hand). Like every typed load, a fault reads as 0, as a failed probe read does. A helper call
 * and a copy_from_kernel_nofault less per element: the fd slot and each level of the wd's idr
 * walk. */
static __always_inline __u64 typed_load_slot(__u64 addr)
{
	struct xa_node *n = typed_cast((void *)(addr - bpf_core_field_offset(struct xa_node, slots)), kernel_id_xa_node);
	return n ? (__u64)n->slots[0] : 0;
}

/* current_fdtable(), typed. The task is cast from bpf_get_current_task(), not taken from
 * bpf_get_current_task_btf(): a load through that trusted pointer makes the 6.3+ verifier look
 * its type's __safe_trusted/__safe_rcu variants up by name, a linear search of the kernel's BTF
 * (~0.5 ms) each time it checks the load; through a cast pointer it does not. */
static __always_inline bool typed_current_fdtable(struct fdtable_fields *t)
{
	return fdtable_of_typed_task(typed_cast((void *)bpf_get_current_task(), kernel_id_task_struct), t);
}

/* group_of_fd(), typed. */
static __always_inline struct fsnotify_group *typed_group_of_fd(int fd)
{
	struct fdtable_fields t;
	if (fd < 0 || !typed_current_fdtable(&t) || (__u32)fd >= t.max_fds)
		return NULL;
	__u64 slot = typed_load_slot((__u64)&t.fd[fd]);
	if (!slot)
		return NULL;
	struct file *file = typed_cast((void *)slot, kernel_id_file);
	if (!file)
		return NULL;
	const struct file_operations *fop = file->f_op;
	if (!fop)
		return NULL;
	if (inotify_fops_addr ? (__u64)fop != inotify_fops_addr
			      : !inotify_release_addr || (__u64)fop->release != inotify_release_addr)
		return NULL;
	return typed_group((__u64)file->private_data);
}

static __always_inline __u32 typed_idr_next(struct fsnotify_group *g)
{
	return g->inotify_data.idr.idr_next;
}

/* An element of a counter array of `uc_or_ns` at `array` (relocated constants), read as
 * read_long_array_elem() does. */
static __always_inline __s64 typed_long_elem(const void *obj, __u32 array, __u32 array_size, __u32 index)
{
	__u32 n = bpf_core_enum_value(enum ucount_type, UCOUNT_COUNTS);
	if (n == 0 || index >= n)
		return -1;
	__u32 elem = array_size / n;
	if (elem == 8)
		return *(const __s64 *)(obj + array + index * 8);
	return *(const __s32 *)(obj + array + index * 4);
}

/* read_ucount(), typed. */
static __always_inline void typed_read_ucount(struct fsnotify_group *g, __u32 which, struct inotrace_ucount *out)
{
	out->watches = -1;
	out->max_watches = -1;
	out->uid = (__u32)-1;
	out->userns_ino = 0;
	if (!g)
		return;
	struct ucounts *uc = g->inotify_data.ucounts;
	if (!uc)
		return;
	struct user_namespace *ns = uc->ns;
	out->uid = uc->uid.val;
	out->watches = typed_long_elem(uc, bpf_core_field_offset(struct ucounts, ucount), bpf_core_field_size(uc->ucount), which);
	if (!ns)
		return;
	out->userns_ino = ns->ns.inum;
	out->max_watches = typed_long_elem(ns, bpf_core_field_offset(struct user_namespace, ucount_max),
					   bpf_core_field_size(ns->ucount_max), which);
}

/* mark_of_wd_fields(), typed. */
static __always_inline struct inotify_inode_mark *typed_mark_of_wd(struct fsnotify_group *g, __s32 wd)
{
	if (!g || wd <= 0)
		return NULL;
	__u64 index = (__u32)wd - g->inotify_data.idr.idr_base;
	__u64 entry = (__u64)g->inotify_data.idr.idr_rt.xa_head;
	__u32 nslots = bpf_core_field_size(((struct xa_node *)0)->slots) / sizeof(void *);
	__u32 slots_off = bpf_core_field_offset(struct xa_node, slots);
	bool descended = false;

	for (int depth = 0; depth < INOTRACE_XA_MAX_DEPTH; depth++) {
		if (!xa_entry_is_node(entry))
			break;
		struct xa_node *node = typed_cast((void *)(entry - 2), kernel_id_xa_node);
		if (!node)
			return NULL;
		__u32 shift = node->shift & 63;
		__u64 offset = index >> shift;
		if (!descended && offset >= nslots)
			return NULL; /* beyond the tree's range */
		offset &= (nslots - 1);
		entry = typed_load_slot(entry - 2 + slots_off + offset * sizeof(void *));
		descended = true;
	}
	if (!entry || (entry & 3) == 2 || (!descended && index != 0))
		return NULL;
	struct inotify_inode_mark *m = typed_cast((void *)entry, kernel_id_inotify_inode_mark);
	if (!m || (__u64)m->fsn_mark.group != (__u64)g || m->wd != wd)
		return NULL;
	return m;
}

/* The inode a typed mark's connector is attached to (inode_of_conn() of core_fixes.bpf.h, typed). */
static __always_inline struct inode *typed_mark_inode(struct inotify_inode_mark *m)
{
	struct fsnotify_mark_connector *conn = m->fsn_mark.connector;
	if (!conn)
		return NULL;
	if (BPF_CORE_READ_BITFIELD(conn, type) != bpf_core_enum_value(enum fsnotify_obj_type, FSNOTIFY_OBJ_TYPE_INODE))
		return NULL;
	__u64 obj = (__u64)conn->obj;
	if (!obj)
		return NULL;
	/* In inode_of_conn()'s order: first obj as &inode->i_fsnotify_marks (before 6.10; on later
	 * kernels this reads the inode's first word, never a pointer), then obj as the inode. */
	struct inode *inode = typed_cast((void *)(obj - bpf_core_field_offset(struct inode, i_fsnotify_marks)), kernel_id_inode);
	if (!inode || (__u64)inode->i_fsnotify_marks != (__u64)conn) {
		inode = typed_cast((void *)obj, kernel_id_inode);
		if (!inode || (__u64)inode->i_fsnotify_marks != (__u64)conn)
			return NULL;
	}
	return inode;
}

/* The target of a mark found by typed_mark_of_wd(). */
static __always_inline bool typed_mark_target(struct inotify_inode_mark *m, struct mark_target *t)
{
	struct inode *inode = typed_mark_inode(m);
	if (!inode)
		return false;
	t->inode = inode;
	t->ino = inode->i_ino;
	struct super_block *sb = inode->i_sb;
	t->dev = sb ? sb->s_dev : 0;
	return true;
}

/* read_mark() (object_copy.bpf.h), typed: the mark whose g_list is at `pos`, also returned. */
static __always_inline struct inotify_inode_mark *typed_read_mark_at(void *pos, struct mark_fields *f)
{
	struct inotify_inode_mark *m =
		typed_cast(pos - bpf_core_field_offset(struct inotify_inode_mark, fsn_mark.g_list), kernel_id_inotify_inode_mark);
	if (!m) {
		__builtin_memset(f, 0, sizeof(*f));
		return NULL;
	}
	f->next = m->fsn_mark.g_list.next;
	f->group = m->fsn_mark.group;
	f->connector = m->fsn_mark.connector;
	f->wd = m->wd;
	f->user_mask = user_mask_of(m->fsn_mark.mask, m->fsn_mark.flags);
	return m;
}

/* read_inode() (object_copy.bpf.h), typed, with the device of its superblock. */
static __always_inline void typed_read_inode(struct inode *addr, struct inode_fields *f, __u32 *dev)
{
	struct inode *inode = typed_cast(addr, kernel_id_inode);
	if (!inode) {
		__builtin_memset(f, 0, sizeof(*f));
		*dev = 0;
		return;
	}
	f->ino = inode->i_ino;
	struct super_block *sb = inode->i_sb;
	f->sb = sb;
	f->first_alias = inode->i_dentry.first;
	*dev = sb ? sb->s_dev : 0;
}

/* read_dentry() (object_copy.bpf.h), typed. */
static __always_inline void typed_read_dentry(struct dentry *addr, struct dentry_fields *f)
{
	struct dentry *d = typed_cast(addr, kernel_id_dentry);
	if (!d) {
		__builtin_memset(f, 0, sizeof(*f));
		return;
	}
	f->parent = d->d_parent;
	f->name = (const char *)d->d_name.name;
	f->hashed = d->d_hash.pprev != NULL;
}

/* A directory's place (its parent and its name's hash and length), typed. The hash and the
 * length are loaded as the two 32-bit members they are, joined as the kernel's hash_len is
 * (hashlen_create()): an 8-byte load of the union's hash_len is refused by verifiers before
 * "bpf: Fix an error in verifying a field in a union" (6.5; 6.2 and 6.3 never got it), as wider
 * than the union's first member. */
static __always_inline void typed_read_place(struct dentry *addr, struct dentry **parent, __u64 *name)
{
	struct dentry *d = typed_cast(addr, kernel_id_dentry);
	*parent = d ? d->d_parent : NULL;
	*name = d ? ((__u64)d->d_name.len << 32) | d->d_name.hash : 0;
}

static __always_inline __u32 typed_mark_user_mask(struct inotify_inode_mark *m)
{
	return user_mask_of(m->fsn_mark.mask, m->fsn_mark.flags);
}

#endif /* INOTRACE_TYPED_READ_BPF_H */
