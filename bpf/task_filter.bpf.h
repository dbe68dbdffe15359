/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Who is acting, and whether the user asked to see them (filters are set before load, so the
 * verifier prunes the unused checks). */
#ifndef INOTRACE_TASK_FILTER_BPF_H
#define INOTRACE_TASK_FILTER_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "inotrace/events.h"

const volatile __u32 filter_pid = 0;          /* tgid; 0 = any */
const volatile bool filter_uid_enabled = false;
const volatile __u32 filter_uid = 0;
const volatile __u64 filter_cgroup_id = 0;    /* 0 = any */
const volatile bool filter_comm_enabled = false;
const volatile char filter_comm[INOTRACE_COMM_LEN] = {};

/* Whether any filter is set: constant to the verifier, which drops what only filters need. */
static __always_inline bool task_filters_set(void)
{
	return filter_pid || filter_uid_enabled || filter_cgroup_id || filter_comm_enabled;
}

static __always_inline bool task_selected(void)
{
	if (filter_pid && (bpf_get_current_pid_tgid() >> 32) != filter_pid)
		return false;
	if (filter_uid_enabled && (__u32)bpf_get_current_uid_gid() != filter_uid)
		return false;
	if (filter_cgroup_id && bpf_get_current_cgroup_id() != filter_cgroup_id)
		return false;
	if (filter_comm_enabled) {
		char comm[INOTRACE_COMM_LEN];
		bpf_get_current_comm(comm, sizeof(comm));
		for (int i = 0; i < INOTRACE_COMM_LEN; i++) {
			if (comm[i] != filter_comm[i])
				return false;
			if (!comm[i])
				break;
		}
	}
	return true;
}

static __always_inline void fill_task(struct inotrace_task *t)
{
	__u64 id = bpf_get_current_pid_tgid();
	t->pid = id >> 32;
	t->tid = (__u32)id;
	t->uid = (__u32)bpf_get_current_uid_gid();
	t->_pad0 = 0;
	t->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(t->comm, sizeof(t->comm));
}

#endif /* INOTRACE_TASK_FILTER_BPF_H */
