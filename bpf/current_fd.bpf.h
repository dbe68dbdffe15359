/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The struct file behind one of the current task's fds (read-only, unlocked: a file closed
 * meanwhile reads as whatever the slot holds now, which callers validate). */
#ifndef INOTRACE_CURRENT_FD_BPF_H
#define INOTRACE_CURRENT_FD_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "object_copy.bpf.h"

static __always_inline struct file *file_of_current_fd(int fd)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct files_struct *files = BPF_CORE_READ(task, files);
	if (!files || fd < 0)
		return NULL;
	struct fdtable *fdt = BPF_CORE_READ(files, fdt);
	struct fdtable_fields t;
	read_fdtable(fdt, &t);
	if ((__u32)fd >= t.max_fds)
		return NULL;
	struct file **fds = t.fd;
	struct file *file = NULL;
	bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
	return file;
}

#endif
