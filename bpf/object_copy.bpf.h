/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Several fields of one kernel object from a single probe read, for the snapshot iterator's
 * walks and the tracer's hot path. A bpf_probe_read_kernel costs about the same for 8 bytes as
 * for 100 (the fixed work of copy_from_kernel_nofault was a quarter of a `snapshot --json`'s
 * samples, and 15 % of a traced add+rm pair's), and the walks read six fields per mark and three
 * per path component. Field offsets stay CO-RE relocated; an object
 * whose fields lie beyond INOTRACE_COPY_MAX on some kernel is read field by field there. Copying
 * a few hundred bytes costs less than one more read.
 */
#ifndef INOTRACE_OBJECT_COPY_BPF_H
#define INOTRACE_OBJECT_COPY_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "core_fixes.bpf.h"

#define INOTRACE_COPY_MAX 512

struct object_copy {
	char b[INOTRACE_COPY_MAX];
};

/* Per CPU, not on the stack: the walks run in bpf_loop callbacks, whose frames share the
 * program's 512 bytes of stack. A copy is read right after it is made: a tracing program on the
 * same CPU cannot run meanwhile (trace_call_bpf's bpf_prog_active), and the iterator's object
 * has its own map. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct object_copy);
} object_copies SEC(".maps");

static __always_inline __u32 max_u32(__u32 a, __u32 b)
{
	return a > b ? a : b;
}

static __always_inline __u32 min_u32(__u32 a, __u32 b)
{
	return a < b ? a : b;
}

/* The field `field` of a `type` copied by copy_object (its offset on the running kernel). */
#define COPIED(c, type, field) (*(typeof(((type *)0)->field) *)((c)->b + bpf_core_field_offset(type, field)))
/* The end of `field` in `type`: copying that many bytes covers it. */
#define FIELD_END(type, field) (bpf_core_field_offset(type, field) + bpf_core_field_size(type, field))

/* Bytes [from, to) of obj (relocated constants) at the copy's start; NULL when they do not fit
 * the copy, which then must not be used (the caller reads field by field, or, for the few
 * adjacent fields of a span, reads zeros as a failed read does), or the read failed.
 * copy_from_kernel_nofault copies 8 bytes per step, so fields deep inside an object are copied
 * without what comes before them. */
static __always_inline struct object_copy *copy_span(const void *obj, __u32 from, __u32 to)
{
	__u32 zero = 0;
	if (to <= from || to - from > INOTRACE_COPY_MAX)
		return NULL;
	struct object_copy *c = bpf_map_lookup_elem(&object_copies, &zero);
	if (!c || bpf_probe_read_kernel(c->b, to - from, obj + from))
		return NULL;
	return c;
}

/* The first `len` bytes of obj: fields read with COPIED. */
static __always_inline struct object_copy *copy_object(const void *obj, __u32 len)
{
	return copy_span(obj, 0, len);
}

/* The field `field` of a `type` copied by copy_span from offset `from`. */
#define SPAN_COPIED(c, from, type, field) \
	(*(typeof(((type *)0)->field) *)((c)->b + (bpf_core_field_offset(type, field) - (from))))

/* What the marks walk reads of one inotify mark. */
struct mark_fields {
	void *next; /* g_list.next */
	struct fsnotify_group *group;
	struct fsnotify_mark_connector *connector;
	__s32 wd;
	__u32 user_mask; /* as fdinfo prints it */
};

/* All in one read where the mark fits the copy; a failed read reads as zeros, as a failed
 * BPF_CORE_READ does. */
static __always_inline void read_mark(struct inotify_inode_mark *m, struct mark_fields *f)
{
	__u32 end = max_u32(max_u32(FIELD_END(struct inotify_inode_mark, fsn_mark.g_list.next),
				    FIELD_END(struct inotify_inode_mark, fsn_mark.group)),
			    max_u32(max_u32(FIELD_END(struct inotify_inode_mark, fsn_mark.connector),
					    FIELD_END(struct inotify_inode_mark, fsn_mark.mask)),
				    max_u32(FIELD_END(struct inotify_inode_mark, fsn_mark.flags),
					    FIELD_END(struct inotify_inode_mark, wd))));
	if (end <= INOTRACE_COPY_MAX) {
		struct object_copy *c = copy_object(m, end);
		if (!c) {
			__builtin_memset(f, 0, sizeof(*f));
			return;
		}
		f->next = COPIED(c, struct inotify_inode_mark, fsn_mark.g_list.next);
		f->group = COPIED(c, struct inotify_inode_mark, fsn_mark.group);
		f->connector = COPIED(c, struct inotify_inode_mark, fsn_mark.connector);
		f->wd = COPIED(c, struct inotify_inode_mark, wd);
		f->user_mask = user_mask_of(COPIED(c, struct inotify_inode_mark, fsn_mark.mask),
					    COPIED(c, struct inotify_inode_mark, fsn_mark.flags));
		return;
	}
	f->next = BPF_CORE_READ(m, fsn_mark.g_list.next);
	f->group = BPF_CORE_READ(m, fsn_mark.group);
	f->connector = BPF_CORE_READ(m, fsn_mark.connector);
	f->wd = BPF_CORE_READ(m, wd);
	f->user_mask = mark_user_mask(&m->fsn_mark);
}

/* What a path walk reads of one dentry. */
struct dentry_fields {
	struct dentry *parent;
	const char *name;
	bool hashed; /* d_hash.pprev set: not deleted nor detached */
};

static __always_inline void read_dentry(struct dentry *d, struct dentry_fields *f)
{
	__u32 end = max_u32(FIELD_END(struct dentry, d_parent),
			    max_u32(FIELD_END(struct dentry, d_name.name), FIELD_END(struct dentry, d_hash.pprev)));
	if (end <= INOTRACE_COPY_MAX) {
		struct object_copy *c = copy_object(d, end);
		if (!c) {
			__builtin_memset(f, 0, sizeof(*f));
			return;
		}
		f->parent = COPIED(c, struct dentry, d_parent);
		f->name = (const char *)COPIED(c, struct dentry, d_name.name);
		f->hashed = COPIED(c, struct dentry, d_hash.pprev) != NULL;
		return;
	}
	f->parent = BPF_CORE_READ(d, d_parent);
	f->name = (const char *)BPF_CORE_READ(d, d_name.name);
	f->hashed = BPF_CORE_READ(d, d_hash.pprev) != NULL;
}

/* The inode a mark's connector is attached to (conn_inode() of core_fixes.bpf.h). */
static __always_inline struct inode *conn_inode_copied(struct fsnotify_mark_connector *conn)
{
	if (!conn)
		return NULL;
	__u32 end = max_u32(FIELD_END(struct fsnotify_mark_connector, type), FIELD_END(struct fsnotify_mark_connector, obj));
	if (end > INOTRACE_COPY_MAX)
		return conn_inode(conn);
	struct object_copy *c = copy_object(conn, end);
	if (!c)
		return NULL;
	struct fsnotify_mark_connector *copy = (void *)c->b;
	return inode_of_conn(conn, BPF_CORE_READ_BITFIELD(copy, type), COPIED(c, struct fsnotify_mark_connector, obj));
}

/* What the snapshot reads of every watched inode (i_private, far at the struct's end, only for
 * kernfs inodes: see inode_path_looped()). */
struct inode_fields {
	__u64 ino;
	struct super_block *sb;
	struct hlist_node *first_alias; /* i_dentry.first: a dentry's d_u.d_alias, or NULL */
};

static __always_inline void read_inode(struct inode *inode, struct inode_fields *f)
{
	__u32 end = max_u32(max_u32(FIELD_END(struct inode, i_ino), FIELD_END(struct inode, i_sb)),
			    FIELD_END(struct inode, i_dentry.first));
	if (end <= INOTRACE_COPY_MAX) {
		struct object_copy *c = copy_object(inode, end);
		if (!c) {
			__builtin_memset(f, 0, sizeof(*f));
			return;
		}
		f->ino = COPIED(c, struct inode, i_ino);
		f->sb = COPIED(c, struct inode, i_sb);
		f->first_alias = COPIED(c, struct inode, i_dentry.first);
		return;
	}
	f->ino = BPF_CORE_READ(inode, i_ino);
	f->sb = BPF_CORE_READ(inode, i_sb);
	f->first_alias = BPF_CORE_READ(inode, i_dentry.first);
}

/* read_long_array_elem() (core_fixes.bpf.h) of an array at offset `array` of a copy. */
static __always_inline __s64 copied_long_array_elem(struct object_copy *c, __u32 array, __u32 array_size, __u32 index)
{
	__u32 n = bpf_core_enum_value(enum ucount_type, UCOUNT_COUNTS);
	if (n == 0 || index >= n)
		return -1;
	__u32 elem = array_size / n;
	__u32 off = array + index * elem;
	if (off > INOTRACE_COPY_MAX - 8)
		return -1;
	off &= INOTRACE_COPY_MAX - 1;
	return elem == 8 ? *(__s64 *)(c->b + off) : *(__s32 *)(c->b + off);
}

/* What the fd lookup reads of a task's fd table. */
struct fdtable_fields {
	__u32 max_fds;
	struct file **fd;
};

static __always_inline void read_fdtable(struct fdtable *fdt, struct fdtable_fields *f)
{
	__u32 end = max_u32(FIELD_END(struct fdtable, max_fds), FIELD_END(struct fdtable, fd));
	if (end <= INOTRACE_COPY_MAX) {
		struct object_copy *c = fdt ? copy_object(fdt, end) : NULL;
		if (!c) {
			__builtin_memset(f, 0, sizeof(*f));
			return;
		}
		f->max_fds = COPIED(c, struct fdtable, max_fds);
		f->fd = COPIED(c, struct fdtable, fd);
		return;
	}
	f->max_fds = BPF_CORE_READ(fdt, max_fds);
	f->fd = BPF_CORE_READ(fdt, fd);
}

/* What tells an inotify file, and its group. */
struct file_fields {
	const struct file_operations *f_op;
	void *private_data;
};

static __always_inline void read_file(struct file *file, struct file_fields *f)
{
	__u32 from = min_u32(bpf_core_field_offset(struct file, f_op), bpf_core_field_offset(struct file, private_data));
	__u32 to = max_u32(FIELD_END(struct file, f_op), FIELD_END(struct file, private_data));
	struct object_copy *c = file ? copy_span(file, from, to) : NULL;
	if (!c) {
		__builtin_memset(f, 0, sizeof(*f));
		return;
	}
	f->f_op = SPAN_COPIED(c, from, struct file, f_op);
	f->private_data = SPAN_COPIED(c, from, struct file, private_data);
}

/* What the wd lookup and the ucounts read of an inotify group (fsnotify_group.inotify_data). */
struct group_fields {
	__u64 xa_head; /* idr.idr_rt.xa_head */
	__u32 idr_base;
	__u32 idr_next;
	struct ucounts *ucounts;
};

static __always_inline void read_group(struct fsnotify_group *g, struct group_fields *f)
{
	__u32 from = min_u32(min_u32(bpf_core_field_offset(struct fsnotify_group, inotify_data.idr.idr_rt.xa_head),
				     bpf_core_field_offset(struct fsnotify_group, inotify_data.idr.idr_base)),
			     min_u32(bpf_core_field_offset(struct fsnotify_group, inotify_data.idr.idr_next),
				     bpf_core_field_offset(struct fsnotify_group, inotify_data.ucounts)));
	__u32 to = max_u32(max_u32(FIELD_END(struct fsnotify_group, inotify_data.idr.idr_rt.xa_head),
				   FIELD_END(struct fsnotify_group, inotify_data.idr.idr_base)),
			   max_u32(FIELD_END(struct fsnotify_group, inotify_data.idr.idr_next),
				   FIELD_END(struct fsnotify_group, inotify_data.ucounts)));
	struct object_copy *c = g ? copy_span(g, from, to) : NULL;
	if (!c) {
		__builtin_memset(f, 0, sizeof(*f));
		return;
	}
	f->xa_head = (__u64)SPAN_COPIED(c, from, struct fsnotify_group, inotify_data.idr.idr_rt.xa_head);
	f->idr_base = SPAN_COPIED(c, from, struct fsnotify_group, inotify_data.idr.idr_base);
	f->idr_next = SPAN_COPIED(c, from, struct fsnotify_group, inotify_data.idr.idr_next);
	f->ucounts = SPAN_COPIED(c, from, struct fsnotify_group, inotify_data.ucounts);
}

/* What a watch record says of an inode besides its path. */
struct inode_ids {
	__u64 ino;
	struct super_block *sb;
};

static __always_inline void read_inode_ids(struct inode *inode, struct inode_ids *f)
{
	__u32 from = min_u32(bpf_core_field_offset(struct inode, i_ino), bpf_core_field_offset(struct inode, i_sb));
	__u32 to = max_u32(FIELD_END(struct inode, i_ino), FIELD_END(struct inode, i_sb));
	struct object_copy *c = inode ? copy_span(inode, from, to) : NULL;
	if (!c) {
		__builtin_memset(f, 0, sizeof(*f));
		return;
	}
	f->ino = SPAN_COPIED(c, from, struct inode, i_ino);
	f->sb = SPAN_COPIED(c, from, struct inode, i_sb);
}

#endif /* INOTRACE_OBJECT_COPY_BPF_H */
