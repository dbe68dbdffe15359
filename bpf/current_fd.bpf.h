/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The struct file behind one of the current task's fds (read-only, unlocked: a file closed
 * meanwhile reads as whatever the slot holds now, which callers validate). */
#ifndef INOTRACE_CURRENT_FD_BPF_H
#define INOTRACE_CURRENT_FD_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "object_copy.bpf.h"

/* Set by userspace where the kernel has BTF of its own (not with --btf), which
 * bpf_get_current_task_btf types its result with, except on the tracepoint backend of a kernel
 * with bpf_rdonly_cast (6.2+): from 6.3 on, the verifier looks each load through that trusted
 * pointer up by name in the kernel's BTF (~0.5 ms per check, 13 of the tracepoint programs'
 * 28 ms of load on 6.18), and the typed programs read the task through a cast instead
 * (typed_current_fdtable). fentry and kprobe keep the plain loads: run time first. */
const volatile bool kernel_btf_types_task = false;

/* The current task's fd table, read with plain loads through the task's BTF pointer where
 * kernel_btf_types_task says so and the kernel has bpf_get_current_task_btf (5.11+; both tests
 * are constants to the verifier, which drops the branch as dead code elsewhere), else one probe
 * read per pointer. */
/* The fd table of a task the verifier knows the type of (its BTF pointer, or a typed cast:
 * typed_read.bpf.h), with plain loads. */
static __always_inline bool fdtable_of_typed_task(struct task_struct *task, struct fdtable_fields *t)
{
	if (!task)
		return false;
	struct files_struct *files = task->files;
	if (!files)
		return false;
	struct fdtable *fdt = files->fdt;
	if (!fdt)
		return false;
	t->max_fds = fdt->max_fds;
	t->fd = fdt->fd;
	return true;
}

static __always_inline bool current_fdtable(struct fdtable_fields *t)
{
	if (kernel_btf_types_task && bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_get_current_task_btf))
		return fdtable_of_typed_task(bpf_get_current_task_btf(), t);
	struct task_struct *task = (void *)bpf_get_current_task();
	struct files_struct *files = BPF_CORE_READ(task, files);
	if (!files)
		return false;
	read_fdtable(BPF_CORE_READ(files, fdt), t);
	return true;
}

static __always_inline struct file *file_of_current_fd(int fd)
{
	struct fdtable_fields t;
	if (fd < 0 || !current_fdtable(&t) || (__u32)fd >= t.max_fds)
		return NULL;
	struct file **fds = t.fd;
	struct file *file = NULL;
	bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
	return file;
}

#endif
