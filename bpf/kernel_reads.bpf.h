/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Reads of kernel objects, typed (typed_read.bpf.h: plain loads through bpf_rdonly_cast, 6.2+)
 * or probed (object_copy.bpf.h) as the program is: a constant per program, so each caller states
 * its program's choice once and the verifier drops the other branch.
 */
#ifndef INOTRACE_KERNEL_READS_BPF_H
#define INOTRACE_KERNEL_READS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include "object_copy.bpf.h"
#include "typed_read.bpf.h"

/* How a program reads kernel objects, like enum name_walks. */
enum kernel_reads { READS_PROBED, READS_TYPED };

static __always_inline void read_dentry_as(struct dentry *d, struct dentry_fields *f, const enum kernel_reads reads)
{
	if (reads == READS_TYPED)
		typed_read_dentry(d, f);
	else
		read_dentry(d, f);
}

/* read_inode(), and with `dev` (a constant NULL drops the read) its superblock's device. */
static __always_inline void read_inode_as(struct inode *inode, struct inode_fields *f, __u32 *dev,
					  const enum kernel_reads reads)
{
	if (reads == READS_TYPED) {
		__u32 d;
		typed_read_inode(inode, f, &d);
		if (dev)
			*dev = d;
		return;
	}
	read_inode(inode, f);
	if (dev) {
		struct super_block *sb = f->sb; /* a plain local: CO-RE must not see inode_fields */
		*dev = BPF_CORE_READ(sb, s_dev);
	}
}

/* A directory's place: its parent and its name's hash and length, which a rename or a move of it
 * changes. */
static __always_inline void read_place_as(struct dentry *d, struct dentry **parent, __u64 *name,
					  const enum kernel_reads reads)
{
	if (reads == READS_TYPED) {
		typed_read_place(d, parent, name);
		return;
	}
	__u32 end = max_u32(FIELD_END(struct dentry, d_parent), FIELD_END(struct dentry, d_name.hash_len));
	struct object_copy *c = end <= INOTRACE_COPY_MAX ? copy_object(d, end) : NULL;
	*parent = c ? COPIED(c, struct dentry, d_parent) : NULL;
	*name = c ? COPIED(c, struct dentry, d_name.hash_len) : 0;
}

#endif /* INOTRACE_KERNEL_READS_BPF_H */
