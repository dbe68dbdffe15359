/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What identifies inotify objects on this kernel, learnt from an inotify fd inotrace opened
 * itself: its file's f_op->release (inotify_release) and its group's ops->freeing_mark
 * (inotify_freeing_mark), written to the globals every other program compares against.
 * Userspace runs this program once, after load, with BPF_PROG_TEST_RUN (raw_tp supports it since
 * 5.10), which runs it in the caller's context: "the current task's fd" is inotrace's own, and
 * no other task can make it run (it is attached nowhere). This replaces reading all of
 * /proc/kallsyms (~150 ms of every start) for two addresses.
 */
#ifndef INOTRACE_INOTIFY_IDENTITY_BPF_H
#define INOTRACE_INOTIFY_IDENTITY_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "current_fd.bpf.h"
#include "inotify_read.bpf.h"

/* The file's dentry name, which anon_inode_getfd gave it: userspace checks it reads "inotify",
 * so a wrong fd or a wrong relocation cannot pass for an inotify file. */
char identified_dentry_name[8] = {};

SEC("raw_tp")
int identify_inotify(struct bpf_raw_tracepoint_args *ctx)
{
	if (inotify_release_addr || inotify_freeing_mark_addr)
		return 2; /* learnt once per object: a later run cannot change it */
	struct file *file = file_of_current_fd((int)ctx->args[0]);
	if (!file)
		return 1;
	const unsigned char *name = BPF_CORE_READ(file, f_path.dentry, d_name.name);
	bpf_probe_read_kernel_str(identified_dentry_name, sizeof(identified_dentry_name), name);
	struct fsnotify_group *group = BPF_CORE_READ(file, private_data);
	inotify_fops_addr = (__u64)BPF_CORE_READ(file, f_op);
	inotify_release_addr = (__u64)BPF_CORE_READ(file, f_op, release);
	inotify_freeing_mark_addr = (__u64)BPF_CORE_READ(group, ops, freeing_mark);
	return 0;
}

#endif
