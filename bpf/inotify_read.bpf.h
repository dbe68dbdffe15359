/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Reading inotify state out of kernel objects: which file is an inotify instance, the wd -> mark
 * lookup, a mark's target, and the per-user counters. Read-only, lock-free, so every result is
 * validated: BPF cannot take group->mark_mutex, so a concurrent add or removal can change what
 * is being read.
 */
#ifndef INOTRACE_INOTIFY_READ_BPF_H
#define INOTRACE_INOTIFY_READ_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "inotrace/events.h"
#include "core_fixes.bpf.h"
#include "current_fd.bpf.h"

/* Addresses of inotify's own functions, written after load by identify_inotify
 * (inotify_identity.bpf.h), or by userspace from /proc/kallsyms where that cannot run. Files are
 * recognised by f_op->release and groups by ops->freeing_mark (inotify_fsnotify_ops): inotify_fops
 * itself is a data symbol, which kallsyms lists only with CONFIG_KALLSYMS_ALL. In .bss, not
 * .rodata, because they are learnt after the programs are loaded. */
__u64 inotify_release_addr = 0;
__u64 inotify_freeing_mark_addr = 0;

static __always_inline struct fsnotify_group *group_of_file(struct file *file)
{
	if (!file)
		return NULL;
	__u64 release = (__u64)BPF_CORE_READ(file, f_op, release);
	if (!release || release != inotify_release_addr)
		return NULL;
	return BPF_CORE_READ(file, private_data);
}

static __always_inline bool is_inotify_group(struct fsnotify_group *group)
{
	return group && inotify_freeing_mark_addr &&
	       (__u64)BPF_CORE_READ(group, ops, freeing_mark) == inotify_freeing_mark_addr;
}

/* The inotify group behind the current task's fd, or NULL. */
static __always_inline struct fsnotify_group *group_of_fd(int fd)
{
	return group_of_file(file_of_current_fd(fd));
}

/*
 * wd -> mark through the group's IDR, an xarray since 4.20: O(depth) whatever the number of
 * watches, where a marks_list walk would be bounded and miss old watches in big instances.
 * xarray internals (include/linux/xarray.h): an internal entry has (e & 3) == 2 and a node
 * entry is an internal entry > 4096; node = e - 2; slot = (index >> node->shift) & chunk_mask.
 * A head that is not a node holds index 0 only (wds start at 1).
 */
#define INOTRACE_XA_MAX_DEPTH 8

static __always_inline bool xa_entry_is_node(__u64 e)
{
	return (e & 3) == 2 && e > 4096;
}

static __always_inline struct fsnotify_mark *mark_of_wd(struct fsnotify_group *group, __s32 wd)
{
	if (!group || wd <= 0)
		return NULL;
	__u64 index = (__u32)wd - BPF_CORE_READ(group, inotify_data.idr.idr_base);
	__u64 entry = (__u64)BPF_CORE_READ(group, inotify_data.idr.idr_rt.xa_head);
	__u32 nslots = bpf_core_field_size(((struct xa_node *)0)->slots) / sizeof(void *);
	__u32 slots_off = bpf_core_field_offset(struct xa_node, slots);
	bool descended = false;

	for (int depth = 0; depth < INOTRACE_XA_MAX_DEPTH; depth++) {
		if (!xa_entry_is_node(entry))
			break;
		struct xa_node *node = (void *)(entry - 2);
		__u32 shift = BPF_CORE_READ(node, shift) & 63;
		__u64 offset = index >> shift;
		if (!descended && offset >= nslots)
			return NULL; /* beyond the tree's range */
		offset &= (nslots - 1);
		entry = 0;
		bpf_probe_read_kernel(&entry, sizeof(entry), (void *)node + slots_off + offset * sizeof(void *));
		descended = true;
	}
	if (!entry || (entry & 3) == 2 || (!descended && index != 0))
		return NULL;
	struct fsnotify_mark *mark = (void *)entry;
	/* inotify_inode_mark starts with its fsnotify_mark; validate against races. */
	if (BPF_CORE_READ(mark, group) != group)
		return NULL;
	if (BPF_CORE_READ((struct inotify_inode_mark *)mark, wd) != wd)
		return NULL;
	return mark;
}

static __always_inline struct inode *mark_inode(struct fsnotify_mark *mark)
{
	return mark ? conn_inode(BPF_CORE_READ(mark, connector)) : NULL;
}

/* One counter of a ucounts (user namespace, uid) with that namespace's limit. */
static __always_inline void read_ucounts(struct ucounts *uc, __u32 which, struct inotrace_ucount *out)
{
	if (!uc)
		return;
	out->uid = BPF_CORE_READ(uc, uid.val);
	struct user_namespace *ns = BPF_CORE_READ(uc, ns);
	out->userns_ino = BPF_CORE_READ(ns, ns.inum);
	out->watches = ucounts_value(uc, which);
	out->max_watches = userns_ucount_max(ns, which);
}

/* The group's ucounts (userns, euid at inotify_init) and one of its counters with its limit. */
static __always_inline void read_ucount(struct fsnotify_group *group, __u32 which,
					struct inotrace_ucount *out)
{
	out->watches = -1;
	out->max_watches = -1;
	out->uid = (__u32)-1;
	out->userns_ino = 0;
	if (group)
		read_ucounts(BPF_CORE_READ(group, inotify_data.ucounts), which, out);
}

static __always_inline __u32 ucount_watches_index(void)
{
	return bpf_core_enum_value(enum ucount_type, UCOUNT_INOTIFY_WATCHES);
}

static __always_inline __u32 ucount_instances_index(void)
{
	return bpf_core_enum_value(enum ucount_type, UCOUNT_INOTIFY_INSTANCES);
}

#endif /* INOTRACE_INOTIFY_READ_BPF_H */
