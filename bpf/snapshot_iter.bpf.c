// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Snapshot of every inotify watch on the machine, from the kernel's own structures:
 * an iter/task_file program (5.8+) visits every open file of every process. For each inotify
 * file it writes one inotrace_snap_instance record (who holds which instance) to the
 * iterator's seq_file; the first time it meets an instance it walks the instance's marks and
 * sends one inotrace_snap_watch record per watch through a ring buffer (a seq_file write is
 * limited to its 32 KiB buffer per object; an instance can hold a million watches).
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "inotrace/events.h"
#include "inotify_read.bpf.h"
#include "inotify_identity.bpf.h"
#include "kernel_reads.bpf.h"
#include "target_path_loop.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by userspace before each run (in .bss, so one loaded object serves every run). */
bool with_paths = true;
/* Sibling records (sibling_path()); off only where a test wants every path walked whole. */
bool share_parent_paths = true;
/* Digest-only runs: no watch records, each instance record carries its marks' digest. */
bool digest_only = false;
/* Count-only runs: no mark is walked; the instance records' ucounts carry the kernel's count of
 * each user's watches. */
bool skip_marks = false;
/* Marks walked per instance. Kernels without bpf_loop (< 5.17) walk at most
 * INOTRACE_SNAP_UNROLLED_MARKS, without paths, and flag the instance truncated; userspace
 * completes watch lists and paths from fdinfo. */
__u32 max_marks = 8u << 20;
#define INOTRACE_SNAP_UNROLLED_MARKS 256
/* Bumped before each run: an instance is walked once per run. */
__u64 run_id = 0;
__u64 ringbuf_drops = 0;
/* Flow control: the walk pauses while the ring holds more than this many bytes (userspace sets
 * it to the ring's size less one record of the longest path), and the program asks the
 * iterator to show the same file again (returns 1): read() ends there (EAGAIN where nothing
 * came before it), userspace lets its consumer drain the ring and reads on, and the walk
 * resumes where it paused. At 1M watches a 2 MiB ring overflowed in half the runs, and each
 * instance that lost a record was re-read from fdinfo (1.8-4.2 s against 0.8 s); a bigger ring
 * costs every short command start-up and resident pages. ~0: no pausing (tests of the loss
 * path). */
__u64 pause_above = ~0ULL;
/* The fill is read before every (pause_check_mask + 1)th mark only: reading the consumer's
 * position is a cache miss whenever the consumer just moved it (on the other CPU), ~10% of a
 * 100k walk when read per mark. pause_above leaves room for that many records. */
__u32 pause_check_mask = 0;
__u64 pauses = 0;
/* The paused walk (one at a time: one reader per iterator fd), kept outside the per-CPU
 * scratch because the next read() may run on another CPU. It resumes only at the very file it
 * paused at (task, fd, file), which the next read() shows first if it is still open. Anything
 * else shown first means that file went away: the walk is dropped (drop_paused_walk()).
 * Userspace zeroes paused_group before each run: a run that failed midway leaves none behind. */
__u64 paused_group = 0;
static __u64 paused_task, paused_file;
static __u32 paused_fd;
/* `walked` value of an instance whose paused walk was dropped: the next holder shown is not a
 * duplicate but flags it for fdinfo. */
#define INOTRACE_WALK_DROPPED (1ULL << 63)

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 * 1024 * 1024); /* set by userspace (IterSourceOptions) */
} snap_watches SEC(".maps");

/* Not preallocated: an LRU of this size cost ~10 ms of every start-up to populate. Userspace
 * deletes the groups a run no longer saw, so it holds the live instances only. Where an insert
 * fails (more live instances than entries, or no memory) the instance is not walked but flagged
 * truncated, so userspace reads it from fdinfo; walked_full counts those holder records. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, __u64);   /* group */
	__type(value, __u64); /* run_id */
} walked SEC(".maps");
__u64 walked_full = 0;

static __always_inline bool remember_walked(__u64 *group)
{
	__u64 id = run_id;
	if (!bpf_map_update_elem(&walked, group, &id, BPF_ANY))
		return true;
	__sync_fetch_and_add(&walked_full, 1);
	return false;
}

struct walk_ctx {
	struct fsnotify_group *group;
	void *head;
	void *pos;
	__u32 n;
	__u32 flags;
	__u32 paused;   /* stopped for room in the ring: resume at pos */
	__u32 live;     /* digest-only: watches digested */
	__u64 digest;
	/* The parent dentry of the last watch record's target and the length of its names, where
	 * that record's path qualifies as the prefix of a sibling's (sibling_path()); else NULL. */
	struct dentry *prev_parent;
	__u32 prev_parent_len;
	__u32 siblings;                  /* records since that walk that took its names */
	struct dentry *prev_grandparent; /* prev_parent's place when it was walked */
	__u64 prev_parent_name;          /* its d_name.hash_len */
};

/* static: not in the skeleton, whose userspace has no struct walk_ctx */
static struct walk_ctx paused_walk;

/* Records at most that take a walk's names: a bound on how old the names a sibling is sent
 * under can be. */
#define INOTRACE_SIBLING_RUN 256

/* The marks walk's state is here rather than on the stack for the reason the name walk's is
 * (target_path_loop.bpf.h): the verifier checks the bpf_loop callback once, not once per value. */
struct snap_scratch_value {
	struct inotrace_snap_watch w;
	char slack[512]; /* put_name() bounds, see target_path.bpf.h */
	struct walk_ctx walk;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct snap_scratch_value);
} snap_scratch SEC(".maps");

static __always_inline struct snap_scratch_value *snap_scratch_value(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&snap_scratch, &zero);
}

/* Where the name walk writes: the record's path. */
static __always_inline char *name_walk_buffer(void)
{
	struct snap_scratch_value *v = snap_scratch_value();
	return v ? v->w.path : NULL;
}

/* Most watches of an instance are directories of one parent (a pod's volumes, a tree watched
 * recursively), whose paths differ in the leaf only. Where this target's dentry has the parent
 * of the previous record's target, only its own name is read and sent, flagged
 * INOTRACE_F_PATH_SIBLING: the parent's names went with that record, and userspace joins them
 * (a ~6-component walk was most of the iterator's time at 100k watches). Only where a full walk
 * gives the same bytes: the previous walk was whole (no flag: not truncated, no unlinked
 * ancestor) and this path stays NAME_MAX short of PATH_MAX, so no name of it can be cut. The
 * parent must still have the place (its parent, its name) it had when its names were read, or it
 * was renamed or moved meanwhile and the next watch is walked whole; a rename further up between
 * the two records is not seen (the walks are unlocked anyway, and a whole walk racing it is no
 * better), and after INOTRACE_SIBLING_RUN records a whole walk reads the names again. */
static __always_inline bool sibling_path(struct snap_scratch_value *v, const struct inode_fields *in,
					 struct path_result *r, const enum kernel_reads reads)
{
	struct walk_ctx *c = &v->walk;
	if (!share_parent_paths || !c->prev_parent || !in->first_alias)
		return false;
	struct dentry *d = (void *)in->first_alias - bpf_core_field_offset(struct dentry, d_u.d_alias);
	struct dentry_fields f;
	read_dentry_as(d, &f, reads);
	if (f.parent != c->prev_parent || f.parent == d || c->siblings >= INOTRACE_SIBLING_RUN)
		return false;
	/* The parent renamed or moved since its names were read: they are not its names now. */
	struct dentry *grandparent;
	__u64 name;
	read_place_as(f.parent, &grandparent, &name, reads);
	if (grandparent != c->prev_grandparent || name != c->prev_parent_name)
		return false;
	__u32 off = 0;
	if (!put_name(v->w.path, &off, f.name, r) || off + c->prev_parent_len > INOTRACE_PATH_MAX - INOTRACE_NAME_MAX)
		return false;
	r->kind = INOTRACE_PATH_DENTRY;
	r->len = off;
	r->flags = (f.hashed ? 0 : INOTRACE_F_PATH_UNLINKED) | INOTRACE_F_PATH_SIBLING;
	c->siblings++;
	return true;
}

/* After a full walk: whether its path can be the prefix of the next record's. */
static __always_inline void remember_parent(struct walk_ctx *c, const struct path_result *r, const enum kernel_reads reads)
{
	struct name_walk *nw = name_walk_state();
	c->prev_parent = NULL;
	if (!nw || r->kind != INOTRACE_PATH_DENTRY || r->flags || !nw->leaf_parent || nw->leaf_end > r->len)
		return;
	read_place_as(nw->leaf_parent, &c->prev_grandparent, &c->prev_parent_name, reads);
	if (!c->prev_grandparent)
		return;
	c->prev_parent = nw->leaf_parent;
	c->prev_parent_len = r->len - nw->leaf_end;
	c->siblings = 0;
}

/* One watch record, with the target's path where the walk names targets: the name walk writes
 * it into v->w.path (name_walk_buffer()), so the record must be this value's. */
static __always_inline void send_watch(struct snap_scratch_value *v, struct fsnotify_group *group, __s32 wd,
				       __u32 user_mask, struct inode *inode, const bool can_walk_paths,
				       const enum kernel_reads reads)
{
	struct inotrace_snap_watch *w = &v->w;
	w->hdr.type = INOTRACE_REC_SNAP_WATCH;
	w->hdr.flags = 0;
	w->hdr.ts_ns = 0;
	w->group = (__u64)group;
	struct inode_fields in;
	__u32 dev;
	read_inode_as(inode, &in, &dev, reads);
	w->dev = dev;
	w->ino = in.ino;
	w->wd = wd;
	w->mask = user_mask;
	w->_pad0 = 0;
	w->path_kind = INOTRACE_PATH_NONE;
	w->path_len = 0;
	if (can_walk_paths && with_paths) {
		struct path_result r = {};
		if (!sibling_path(v, &in, &r, reads)) {
			r = (struct path_result){};
			inode_path_looped(inode, &in, &r, reads); /* into w->path: name_walk_buffer() */
			remember_parent(&v->walk, &r, reads);
		}
		w->path_kind = r.kind;
		w->path_len = r.len;
		w->hdr.flags |= r.flags;
	}
	__u32 len = w->path_len;
	if (len > INOTRACE_PATH_MAX)
		len = INOTRACE_PATH_MAX;
	__u32 size = INOTRACE_SNAP_WATCH_FIXED + len;
	w->hdr.size = size;
	/* No wakeups: the consumer polls every millisecond; a wakeup per record (irq_work + IPI)
	 * cost more than the record itself. */
	if (bpf_ringbuf_output(&snap_watches, w, size, BPF_RB_NO_WAKEUP)) {
		__sync_fetch_and_add(&ringbuf_drops, 1);
		v->walk.prev_parent = NULL; /* a sibling's prefix must be in the record before it */
		/* This instance's list is not whole: userspace reads its fdinfo, the others stand. */
		v->walk.flags |= INOTRACE_F_SNAP_TRUNCATED;
	}
}

/* One mark: returns 1 to stop the walk. Paths only where bpf_loop verifies the walk once:
 * unrolled, a dentry walk per mark exceeds the verifier's budget. Typed reads (typed_read.bpf.h)
 * are plain loads where each probe read is a helper call: on 6.18 the probe reads were a third of
 * a `snapshot --json`'s samples at 100k watches. */
static __always_inline long emit_mark(struct snap_scratch_value *v, const bool can_walk_paths,
				      const enum kernel_reads reads)
{
	struct walk_ctx *c = &v->walk;
	void *pos = c->pos;
	if (!pos || pos == c->head)
		return 1;
	if (c->n >= max_marks) {
		c->flags |= INOTRACE_F_SNAP_TRUNCATED;
		return 1;
	}
	/* Before the mark is read: the resumed walk reads it again, from its list as it is then. */
	if (!digest_only && !(c->n & pause_check_mask) &&
	    bpf_ringbuf_query(&snap_watches, BPF_RB_AVAIL_DATA) > pause_above) {
		c->paused = 1;
		return 1;
	}
	struct mark_fields m;
	struct inotify_inode_mark *typed_mark = NULL;
	if (reads == READS_TYPED)
		typed_mark = typed_read_mark_at(pos, &m);
	else
		read_mark(pos - bpf_core_field_offset(struct inotify_inode_mark, fsn_mark.g_list), &m);
	if (m.next == pos) { /* list_del_init'd under us: the mark is being destroyed */
		c->flags |= INOTRACE_F_SNAP_RACE;
		return 1;
	}
	/* Unlocked walk: a mark detached and freed under us leaves pointers into reused memory.
	 * A mark of another group means we left the list: stop (never wander for millions of
	 * steps, which once soft-locked a guest under churn). */
	if (m.group != c->group) {
		c->flags |= INOTRACE_F_SNAP_RACE;
		return 1;
	}
	c->pos = m.next;
	c->n++;

	__s32 wd = m.wd;
	if (wd <= 0)
		return 0; /* being removed (wd is -1 after inotify_remove_from_idr) */
	if (digest_only) {
		/* wd and mask only: a mark's target never changes, and reading it costs half the walk */
		c->digest ^= inotrace_watch_digest(wd, m.user_mask);
		c->live++;
		return 0;
	}
	struct inode *inode = reads == READS_TYPED ? (typed_mark ? typed_mark_inode(typed_mark) : NULL)
						   : conn_inode_copied(m.connector);
	if (!inode)
		return 0;
	send_watch(v, c->group, wd, m.user_mask, inode, can_walk_paths, reads);
	return 0;
}

static long walk_cb(__u32 index, void *unused)
{
	struct snap_scratch_value *v = snap_scratch_value();
	return v ? emit_mark(v, true, READS_PROBED) : 1;
}

static long walk_cb_typed(__u32 index, void *unused)
{
	struct snap_scratch_value *v = snap_scratch_value();
	return v ? emit_mark(v, true, READS_TYPED) : 1;
}

static long walk_cb_marks(__u32 index, void *unused)
{
	struct snap_scratch_value *v = snap_scratch_value();
	return v ? emit_mark(v, false, READS_PROBED) : 1;
}

/* Three programs, one per walk: a kernel without bpf_loop (5.10) rejects an object whose
 * program merely references a loop callback ("number of funcs in func_info doesn't match"),
 * so the bounded variant must not mention a callback at all. The marks-only walk (no dentry
 * walk) is for runs that need no path: the verifier checks it in a fraction of the time of the
 * walk with paths, which is most of a short command's start-up. Userspace loads one. */
enum walk_kind { WALK_WITH_PATHS, WALK_WITH_PATHS_TYPED, WALK_MARKS, WALK_BOUNDED };

static __always_inline void walk_marks(struct snap_scratch_value *v, const enum walk_kind kind)
{
	if (kind == WALK_WITH_PATHS) {
		bpf_loop(1 << 23 /* BPF_MAX_LOOPS */, walk_cb, NULL, 0);
		return;
	}
	if (kind == WALK_WITH_PATHS_TYPED) {
		bpf_loop(1 << 23 /* BPF_MAX_LOOPS */, walk_cb_typed, NULL, 0);
		return;
	}
	if (kind == WALK_MARKS) {
		bpf_loop(1 << 23 /* BPF_MAX_LOOPS */, walk_cb_marks, NULL, 0);
		return;
	}
	for (int i = 0; i < INOTRACE_SNAP_UNROLLED_MARKS; i++)
		if (emit_mark(v, false, READS_PROBED))
			return;
	if (v->walk.pos != v->walk.head)
		v->walk.flags |= INOTRACE_F_SNAP_TRUNCATED;
}

/* After a walk: true where it paused (the file is shown again, its record written then), else
 * the instance record takes the walk's counts. `from`: the mark count it resumed at (~0: a new
 * walk); one that pauses again before any mark is the same pause (a read() that had shown
 * other files ended at it and the next one began with it), counted once. */
static __always_inline bool finish_walk(struct snap_scratch_value *v, struct inotrace_snap_instance *rec, __u64 group,
					struct bpf_iter__task_file *ctx, __u32 from)
{
	struct walk_ctx *c = &v->walk;
	if (c->paused) {
		paused_walk = *c;
		paused_group = group;
		paused_task = (__u64)ctx->task;
		paused_file = (__u64)ctx->file;
		paused_fd = ctx->fd;
		if (c->n != from)
			__sync_fetch_and_add(&pauses, 1);
		return true;
	}
	rec->nr_marks = digest_only ? c->live : c->n;
	rec->digest = c->digest;
	rec->hdr.flags |= c->flags;
	return false;
}

/* The first file shown after a pause is not the one that paused (closed meanwhile): the walk
 * is not resumed anywhere else, where its group's address may be another instance's by now and
 * its last record's parent a freed dentry. Its records stand only if a later holder of the
 * instance says how far they go, which it cannot: that holder flags it for fdinfo instead. */
static __always_inline void drop_paused_walk(void)
{
	__u64 key = paused_group;
	paused_group = 0;
	/* Written in place: an update of this map (not preallocated) allocates, and a failed one
	 * would leave the instance's other holders taking it as walked whole. */
	__u64 *seen = bpf_map_lookup_elem(&walked, &key);
	if (seen)
		*seen = run_id | INOTRACE_WALK_DROPPED;
}

static __always_inline bool is_paused_file(struct bpf_iter__task_file *ctx)
{
	return (__u64)ctx->task == paused_task && (__u64)ctx->file == paused_file && ctx->fd == paused_fd;
}

static __always_inline int snapshot_file(struct bpf_iter__task_file *ctx, const enum walk_kind kind)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct fsnotify_group *group = task && file ? group_of_file(file) : NULL;
	bool resume = false;
	if (paused_group) {
		/* The group too: where the file was freed and its memory reused by another
		 * instance's file at the same fd, that instance is walked afresh. Not told apart: a
		 * file, group and mark all reused at their old addresses within the pause, which only
		 * the fd's owner can arrange, and which shows their new instance with the old one's
		 * first records; no other user's instance is touched. */
		resume = is_paused_file(ctx) && paused_group == (__u64)group;
		if (!resume)
			drop_paused_walk();
	}
	if (!group)
		return 0;

	struct inotrace_snap_instance rec = {};
	rec.hdr.type = INOTRACE_REC_SNAP_INSTANCE;
	rec.hdr.size = sizeof(rec);
	rec.pid = BPF_CORE_READ(task, tgid);
	rec.fd = ctx->fd;
	rec.group = (__u64)group;
	BPF_CORE_READ_STR_INTO(&rec.comm, task, comm);
	rec.uid = BPF_CORE_READ(task, cred, uid.val);
	read_ucount(group, ucount_watches_index(), &rec.ucount);
	struct inotrace_ucount instances;
	read_ucount(group, ucount_instances_index(), &instances);
	rec.user_instances = instances.watches;
	rec.max_user_instances = instances.max_watches;

	struct snap_scratch_value *v;
	__u64 key = (__u64)group;
	__u64 *seen = bpf_map_lookup_elem(&walked, &key);
	if (resume) {
		/* This file again after a pause: on from the mark the walk stopped at. A mark freed
		 * meanwhile fails emit_mark's checks and flags the instance, as in one unlocked walk.
		 * The parent kept for sibling records is forgotten: it was read under another RCU
		 * read section, and may be freed by now. */
		paused_group = 0;
		if (!(v = snap_scratch_value())) {
			rec.hdr.flags |= INOTRACE_F_SNAP_TRUNCATED | INOTRACE_F_SNAP_WALK_DROPPED; /* cannot happen */
		} else {
			v->walk = paused_walk;
			v->walk.paused = 0;
			v->walk.prev_parent = NULL;
			walk_marks(v, kind);
			if (finish_walk(v, &rec, key, ctx, paused_walk.n))
				return 1;
		}
	} else if (seen && *seen == (run_id | INOTRACE_WALK_DROPPED)) {
		rec.hdr.flags |= INOTRACE_F_SNAP_TRUNCATED | INOTRACE_F_SNAP_WALK_DROPPED;
		*seen = run_id; /* its other holders: duplicates */
	} else if (seen && *seen == run_id) {
		rec.hdr.flags |= INOTRACE_F_SNAP_DUPLICATE;
	} else if (skip_marks) {
		remember_walked(&key);
	} else if (!remember_walked(&key)) {
		/* Not walked: every holder would walk it again. Userspace reads its fdinfo instead. */
		rec.hdr.flags |= INOTRACE_F_SNAP_TRUNCATED;
	} else if (!(v = snap_scratch_value())) {
		rec.hdr.flags |= INOTRACE_F_SNAP_TRUNCATED; /* cannot happen: a per-CPU array's only entry */
	} else {
		struct walk_ctx *c = &v->walk;
		__builtin_memset(c, 0, sizeof(*c));
		c->group = group;
		c->head = (void *)group + bpf_core_field_offset(struct fsnotify_group, marks_list);
		c->pos = BPF_CORE_READ(group, marks_list.next);
		walk_marks(v, kind);
		if (finish_walk(v, &rec, key, ctx, ~0u))
			return 1;
	}
	bpf_seq_write(seq, &rec, sizeof(rec));
	return 0;
}

SEC("iter/task_file")
int snapshot_files(struct bpf_iter__task_file *ctx)
{
	return snapshot_file(ctx, WALK_WITH_PATHS);
}

/* Where the kernel has bpf_rdonly_cast (6.2+): the loader links its casts (loader/typed_reads.h). */
SEC("iter/task_file")
int snapshot_files_typed(struct bpf_iter__task_file *ctx)
{
	return snapshot_file(ctx, WALK_WITH_PATHS_TYPED);
}

SEC("iter/task_file")
int snapshot_files_marks(struct bpf_iter__task_file *ctx)
{
	return snapshot_file(ctx, WALK_MARKS);
}

SEC("iter/task_file")
int snapshot_files_bounded(struct bpf_iter__task_file *ctx)
{
	return snapshot_file(ctx, WALK_BOUNDED);
}
