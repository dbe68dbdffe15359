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
#include "object_copy.bpf.h"

/* Addresses of inotify's own functions, written after load by identify_inotify
 * (inotify_identity.bpf.h), or by userspace from /proc/kallsyms where that cannot run. Files are
 * recognised by f_op->release and groups by ops->freeing_mark (inotify_fsnotify_ops): inotify_fops
 * itself is a data symbol, which kallsyms lists only with CONFIG_KALLSYMS_ALL. In .bss, not
 * .rodata, because they are learnt after the programs are loaded. */
__u64 inotify_release_addr = 0;
__u64 inotify_freeing_mark_addr = 0;
/* inotify_fops itself, where identify_inotify learnt it (not from kallsyms): a file is then
 * recognised by its f_op alone, one probe read fewer per lookup. */
__u64 inotify_fops_addr = 0;

static __always_inline struct fsnotify_group *group_of_file(struct file *file)
{
	if (!file)
		return NULL;
	struct file_fields f;
	read_file(file, &f);
	if (!f.f_op)
		return NULL;
	if (inotify_fops_addr) {
		if ((__u64)f.f_op != inotify_fops_addr)
			return NULL;
	} else {
		const struct file_operations *fop = f.f_op; /* a local: CO-RE relocates the whole chain */
		__u64 release = (__u64)BPF_CORE_READ(fop, release);
		if (!release || release != inotify_release_addr)
			return NULL;
	}
	return f.private_data;
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

/* The mark of `wd` in `group`, whose inotify fields `gf` holds, or NULL; its fields in `m`. */
static __always_inline struct fsnotify_mark *mark_of_wd_fields(struct fsnotify_group *group, const struct group_fields *gf,
								__s32 wd, struct mark_fields *m)
{
	if (!group || wd <= 0)
		return NULL;
	__u64 index = (__u32)wd - gf->idr_base;
	__u64 entry = gf->xa_head;
	__u32 nslots = bpf_core_field_size(((struct xa_node *)0)->slots) / sizeof(void *);
	__u32 slots_off = bpf_core_field_offset(struct xa_node, slots);
	/* A child's shift is its parent's less XA_CHUNK_SHIFT (log2 of the slots): only the top
	 * node's is read. 0: another slot count, every node's is read. */
	__u32 chunk_shift = nslots == 64 ? 6 : nslots == 16 ? 4 : 0;
	__u32 shift = 0;
	bool descended = false;

	for (int depth = 0; depth < INOTRACE_XA_MAX_DEPTH; depth++) {
		if (!xa_entry_is_node(entry))
			break;
		struct xa_node *node = (void *)(entry - 2);
		if (!descended || !chunk_shift)
			shift = BPF_CORE_READ(node, shift) & 63;
		else if (shift >= chunk_shift)
			shift -= chunk_shift;
		else
			return NULL; /* a node below the last level: a racing change */
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
	/* inotify_inode_mark starts with its fsnotify_mark; validate against races. */
	read_mark((struct inotify_inode_mark *)entry, m);
	if (m->group != group || m->wd != wd)
		return NULL;
	return (struct fsnotify_mark *)entry;
}

static __always_inline struct inode *mark_inode(struct fsnotify_mark *mark)
{
	return mark ? conn_inode(BPF_CORE_READ(mark, connector)) : NULL;
}

/* What a watch record says of its target, from its mark's fields. */
struct mark_target {
	struct inode *inode;
	__u64 ino;
	__u32 dev;
};

static __always_inline bool read_mark_target(const struct mark_fields *m, struct mark_target *t)
{
	struct inode *inode = conn_inode_copied(m->connector);
	if (!inode)
		return false;
	struct inode_ids in;
	read_inode_ids(inode, &in);
	t->inode = inode;
	t->ino = in.ino;
	struct super_block *sb = in.sb; /* a local: CO-RE relocates the whole chain */
	t->dev = BPF_CORE_READ(sb, s_dev);
	return true;
}

/* One counter of a ucounts (user namespace, uid) with that namespace's limit. */
static __always_inline void read_ucounts(struct ucounts *uc, __u32 which, struct inotrace_ucount *out)
{
	if (!uc)
		return;
	__u32 array = bpf_core_field_offset(struct ucounts, ucount);
	__u32 from = min_u32(min_u32(bpf_core_field_offset(struct ucounts, uid.val), bpf_core_field_offset(struct ucounts, ns)), array);
	__u32 to = max_u32(max_u32(FIELD_END(struct ucounts, uid.val), FIELD_END(struct ucounts, ns)),
			   array + bpf_core_field_size(uc->ucount));
	struct user_namespace *ns;
	struct object_copy *c = copy_span(uc, from, to);
	if (c) { /* one read for the three */
		out->uid = SPAN_COPIED(c, from, struct ucounts, uid.val);
		ns = SPAN_COPIED(c, from, struct ucounts, ns);
		out->watches = copied_long_array_elem(c, array - from, bpf_core_field_size(uc->ucount), which);
	} else {
		out->uid = BPF_CORE_READ(uc, uid.val);
		ns = BPF_CORE_READ(uc, ns);
		out->watches = ucounts_value(uc, which);
	}
	out->userns_ino = BPF_CORE_READ(ns, ns.inum);
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
