/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Names a watched inode from the kernel's side, without d_path (which needs a struct path we do
 * not have for a mark): walk its dentry up to the superblock root, or, for kernfs (cgroup,
 * sysfs) inodes whose dentries were pruned, the kernfs_node chain. Components are written leaf
 * first, each NUL-terminated; userspace reverses them and prefixes the mount point.
 */
#ifndef INOTRACE_TARGET_PATH_BPF_H
#define INOTRACE_TARGET_PATH_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "inotrace/events.h"
#include "core_fixes.bpf.h"

#define INOTRACE_PATH_DEPTH 64
#define INOTRACE_NAME_MAX 256

#define INOTRACE_SYSFS_MAGIC 0x62656572u
#define INOTRACE_CGROUP_SUPER_MAGIC 0x27e0ebu
#define INOTRACE_CGROUP2_SUPER_MAGIC 0x63677270u

struct path_result {
	__u16 len;
	__u8 kind;
	__u32 flags;
};

/* Appends one name at *off; returns false when the buffer is full. `buf` must have
 * 2 * INOTRACE_NAME_MAX bytes of slack after its INOTRACE_PATH_MAX (see the scratch maps), so the
 * verifier can bound buf + off + room without relating off and room. */
static __always_inline bool put_name(char *buf, __u32 *off, const char *name, struct path_result *r)
{
	__u32 o = *off;
	if (o >= INOTRACE_PATH_MAX) {
		r->flags |= INOTRACE_F_PATH_TRUNCATED;
		return false;
	}
	/* barrier_var: stop clang from dropping the masks the verifier needs as bounds */
	barrier_var(o);
	o &= INOTRACE_PATH_MAX - 1;
	__u32 room = INOTRACE_PATH_MAX - o;
	if (room > INOTRACE_NAME_MAX)
		room = INOTRACE_NAME_MAX;
	barrier_var(room);
	room &= 2 * INOTRACE_NAME_MAX - 1;
	long n = bpf_probe_read_kernel_str(buf + o, room, name);
	if (n <= 0)
		return false;
	if (n == room && room < INOTRACE_NAME_MAX) { /* the name did not fit: drop it */
		r->flags |= INOTRACE_F_PATH_TRUNCATED;
		return false;
	}
	*off = o + n;
	return true;
}

static __always_inline void dentry_path_from(struct dentry *d, char *buf, __u32 off, struct path_result *r)
{
	for (int i = 0; i < INOTRACE_PATH_DEPTH; i++) {
		struct dentry *parent = BPF_CORE_READ(d, d_parent);
		if (!parent || parent == d)
			break; /* superblock root */
		if (!BPF_CORE_READ(d, d_hash.pprev))
			r->flags |= INOTRACE_F_PATH_UNLINKED; /* unhashed: deleted or detached */
		if (!put_name(buf, &off, (const char *)BPF_CORE_READ(d, d_name.name), r))
			break;
		d = parent;
		if (i == INOTRACE_PATH_DEPTH - 1)
			r->flags |= INOTRACE_F_PATH_TRUNCATED;
	}
	r->len = off;
	r->kind = INOTRACE_PATH_DENTRY;
}

static __always_inline void dentry_path(struct dentry *d, char *buf, struct path_result *r)
{
	dentry_path_from(d, buf, 0, r);
}

/* mnt_id of a vfsmount: struct mount is private (fs/mount.h) but in BTF. Userspace finds the
 * mount point in the caller's mountinfo and joins it with the in-filesystem path. */
static __always_inline __s32 vfsmount_id(struct vfsmount *vfsmnt)
{
	struct mount *mnt = (void *)vfsmnt - bpf_core_field_offset(struct mount, mnt);
	return BPF_CORE_READ(mnt, mnt_id);
}

static __always_inline void kernfs_path(struct kernfs_node *kn, char *buf, struct path_result *r)
{
	__u32 off = 0;
	for (int i = 0; i < INOTRACE_PATH_DEPTH && kn; i++) {
		struct kernfs_node *parent = kernfs_parent(kn);
		if (!parent)
			break; /* the root's name is "" */
		if (!put_name(buf, &off, BPF_CORE_READ(kn, name), r))
			break;
		kn = parent;
	}
	r->len = off;
	r->kind = INOTRACE_PATH_KERNFS;
}

static __always_inline bool is_kernfs_sb(struct super_block *sb)
{
	__u64 magic = BPF_CORE_READ(sb, s_magic);
	return magic == INOTRACE_SYSFS_MAGIC || magic == INOTRACE_CGROUP2_SUPER_MAGIC ||
	       magic == INOTRACE_CGROUP_SUPER_MAGIC;
}

/* Fills buf with the inode's in-filesystem path (see the file comment). */
static __always_inline void inode_path(struct inode *inode, char *buf, struct path_result *r)
{
	r->len = 0;
	r->kind = INOTRACE_PATH_NONE;
	if (!inode)
		return;
	struct hlist_node *first = BPF_CORE_READ(inode, i_dentry.first);
	if (first) {
		struct dentry *d = (void *)first - bpf_core_field_offset(struct dentry, d_u.d_alias);
		dentry_path(d, buf, r);
		return;
	}
	if (is_kernfs_sb(BPF_CORE_READ(inode, i_sb))) {
		kernfs_path(BPF_CORE_READ(inode, i_private), buf, r);
		return;
	}
	r->flags |= INOTRACE_F_NO_DENTRY;
}

#endif /* INOTRACE_TARGET_PATH_BPF_H */
