/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * inode_path() of target_path.bpf.h with each name walk as a bpf_loop callback (5.17+), for the
 * snapshot iterator and the tracer's looped programs. The verifier checks a bounded loop once
 * per iteration and a callback once: with the 64-step walks inline, the iterator's walk with
 * paths took 93 ms to verify (150,912 insns processed), most of a `snapshot --json`'s start-up.
 * Same names, same flags.
 */
#ifndef INOTRACE_TARGET_PATH_LOOP_BPF_H
#define INOTRACE_TARGET_PATH_LOOP_BPF_H

#include "object_copy.bpf.h"
#include "target_path.bpf.h"
#include "kernel_reads.bpf.h"

/* The walk's state lives in a per-CPU map value, not on the stack as the callback's context:
 * the verifier tracks what a stack slot holds, so it re-checked the callback for each value the
 * walk's state took on its way (with the marks walk below, 46 ms of a `snapshot --json`'s
 * start-up on 6.18); a map value's contents are unknown to it, and one pass covers them all. The
 * includer defines name_walk_buffer(): where the walk writes the names (with put_name()'s slack). */
struct name_walk {
	void *node; /* the dentry or kernfs_node whose name comes next */
	__u32 off;
	/* The first name walked: where it ends and its dentry's parent (the snapshot's sibling
	 * paths, snapshot_iter.bpf.c) */
	__u32 leaf_end;
	void *leaf_parent;
	struct path_result r;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct name_walk);
} name_walks SEC(".maps");

static __always_inline char *name_walk_buffer(void);

static __always_inline struct name_walk *name_walk_state(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&name_walks, &zero);
}

static __always_inline long dentry_step_as(__u32 i, const enum kernel_reads reads)
{
	struct name_walk *w = name_walk_state();
	char *buf = name_walk_buffer();
	if (!w || !buf)
		return 1;
	struct dentry *d = w->node;
	struct dentry_fields f;
	read_dentry_as(d, &f, reads);
	if (!f.parent || f.parent == d)
		return 1; /* superblock root */
	if (!f.hashed)
		w->r.flags |= INOTRACE_F_PATH_UNLINKED; /* unhashed: deleted or detached */
	if (!put_name(buf, &w->off, f.name, &w->r))
		return 1;
	if (i == 0) {
		w->leaf_end = w->off;
		w->leaf_parent = f.parent;
	}
	w->node = f.parent;
	if (i == INOTRACE_PATH_DEPTH - 1)
		w->r.flags |= INOTRACE_F_PATH_TRUNCATED;
	return 0;
}

static long dentry_step(__u32 i, void *unused)
{
	return dentry_step_as(i, READS_PROBED);
}

/* Typed (typed_read.bpf.h): its casts are in a subprogram libbpf appends only at the load, so
 * the loader links them in the section's prepare hook (loader/section_handlers.h). */
static long dentry_step_typed(__u32 i, void *unused)
{
	return dentry_step_as(i, READS_TYPED);
}

static long kernfs_step(__u32 i, void *unused)
{
	struct name_walk *w = name_walk_state();
	char *buf = name_walk_buffer();
	if (!w || !buf)
		return 1;
	struct kernfs_node *kn = w->node;
	if (!kn)
		return 1;
	struct kernfs_node *parent = kernfs_parent(kn);
	if (!parent)
		return 1; /* the root's name is "" */
	if (!put_name(buf, &w->off, BPF_CORE_READ(kn, name), &w->r))
		return 1;
	w->node = parent;
	return 0;
}

/* The names from `node` (a dentry, or a kernfs_node when `kernfs`) up to the root, appended at
 * `off` of name_walk_buffer(); r->len is where they end. Before 6.7 the verifier checked a
 * bpf_loop callback once, in the state of its first call, and wired the branches that state
 * never takes as dead (fixed by "bpf: verify callbacks as if they are called unknown number of
 * times"): with the offset a known 0 there, 6.1 dropped put_name()'s buffer-full check. Read from
 * the map, the offset is never known. */
static __always_inline void names_looped(void *node, __u32 off, const bool kernfs, struct path_result *r,
					 const enum kernel_reads reads)
{
	struct name_walk *w = name_walk_state();
	r->len = off;
	if (!w)
		return;
	w->node = node;
	w->off = off;
	w->leaf_end = off;
	w->leaf_parent = NULL;
	w->r.flags = r->flags;
	if (kernfs)
		bpf_loop(INOTRACE_PATH_DEPTH, kernfs_step, NULL, 0);
	else if (reads == READS_TYPED)
		bpf_loop(INOTRACE_PATH_DEPTH, dentry_step_typed, NULL, 0);
	else
		bpf_loop(INOTRACE_PATH_DEPTH, dentry_step, NULL, 0);
	r->len = w->off;
	r->flags = w->r.flags;
}

/* dentry_path_from() of target_path.bpf.h, into name_walk_buffer(). */
static __always_inline void dentry_path_looped(struct dentry *d, __u32 off, struct path_result *r,
					       const enum kernel_reads reads)
{
	r->kind = INOTRACE_PATH_DENTRY;
	names_looped(d, off, false, r, reads);
}

/* Fills name_walk_buffer() with the path of `inode`, read by read_inode() into `in`, as
 * inode_path() does. */
static __always_inline void inode_path_looped(struct inode *inode, const struct inode_fields *in, struct path_result *r,
					      const enum kernel_reads reads)
{
	r->len = 0;
	r->kind = INOTRACE_PATH_NONE;
	struct hlist_node *first = in->first_alias;
	if (first) {
		dentry_path_looped((void *)first - bpf_core_field_offset(struct dentry, d_u.d_alias), 0, r, reads);
	} else if (is_kernfs_sb(in->sb)) {
		r->kind = INOTRACE_PATH_KERNFS;
		names_looped(BPF_CORE_READ(inode, i_private), 0, true, r, reads);
	} else {
		r->flags |= INOTRACE_F_NO_DENTRY;
	}
}

#endif /* INOTRACE_TARGET_PATH_LOOP_BPF_H */
