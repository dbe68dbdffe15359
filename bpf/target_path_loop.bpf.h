/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * inode_path() of target_path.bpf.h with each name walk as a bpf_loop callback (5.17+), for the
 * snapshot iterator. The verifier checks a bounded loop once per iteration and a callback once:
 * with the 64-step walks inline, the iterator's walk with paths took 93 ms to verify (150,912
 * insns processed), most of a `snapshot --json`'s start-up. Same names, same flags.
 */
#ifndef INOTRACE_TARGET_PATH_LOOP_BPF_H
#define INOTRACE_TARGET_PATH_LOOP_BPF_H

#include "object_copy.bpf.h"
#include "target_path.bpf.h"

struct name_walk {
	void *node; /* the dentry or kernfs_node whose name comes next */
	char *buf;
	__u32 off;
	struct path_result r;
};

static long dentry_step(__u32 i, struct name_walk *w)
{
	struct dentry *d = w->node;
	struct dentry_fields f;
	read_dentry(d, &f);
	if (!f.parent || f.parent == d)
		return 1; /* superblock root */
	if (!f.hashed)
		w->r.flags |= INOTRACE_F_PATH_UNLINKED; /* unhashed: deleted or detached */
	if (!put_name(w->buf, &w->off, f.name, &w->r))
		return 1;
	w->node = f.parent;
	if (i == INOTRACE_PATH_DEPTH - 1)
		w->r.flags |= INOTRACE_F_PATH_TRUNCATED;
	return 0;
}

static long kernfs_step(__u32 i, struct name_walk *w)
{
	struct kernfs_node *kn = w->node;
	if (!kn)
		return 1;
	struct kernfs_node *parent = kernfs_parent(kn);
	if (!parent)
		return 1; /* the root's name is "" */
	if (!put_name(w->buf, &w->off, BPF_CORE_READ(kn, name), &w->r))
		return 1;
	w->node = parent;
	return 0;
}

/* 0, but unknown to the verifier. Before 6.7 it checked a bpf_loop callback once, in the state
 * of its first call, and wired the branches that state never takes as dead (fixed by "bpf: verify
 * callbacks as if they are called unknown number of times"). With the walk's offset a known 0
 * there, 6.1 dropped put_name()'s buffer-full check: a path longer than the buffer wrapped
 * around it and came out as its top components, unflagged. */
__u32 walk_start_offset = 0;

/* Fills buf with the path of `inode`, read by read_inode() into `in`, as inode_path() does. */
static __always_inline void inode_path_looped(struct inode *inode, const struct inode_fields *in, char *buf,
					      struct path_result *r)
{
	struct name_walk w = {.buf = buf, .off = walk_start_offset, .r = {.flags = r->flags}};
	r->len = 0;
	r->kind = INOTRACE_PATH_NONE;
	struct hlist_node *first = in->first_alias;
	if (first) {
		w.node = (void *)first - bpf_core_field_offset(struct dentry, d_u.d_alias);
		bpf_loop(INOTRACE_PATH_DEPTH, dentry_step, &w, 0);
		r->kind = INOTRACE_PATH_DENTRY;
	} else if (is_kernfs_sb(in->sb)) {
		w.node = BPF_CORE_READ(inode, i_private);
		bpf_loop(INOTRACE_PATH_DEPTH, kernfs_step, &w, 0);
		r->kind = INOTRACE_PATH_KERNFS;
	} else {
		r->flags |= INOTRACE_F_NO_DENTRY;
		return;
	}
	r->len = w.off;
	r->flags = w.r.flags;
}

#endif /* INOTRACE_TARGET_PATH_LOOP_BPF_H */
