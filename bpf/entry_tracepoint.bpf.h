/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Tracepoint backend: syscall tracepoints only (no trampolines, no kprobes needed). Adds and
 * rm_watch are exact; other removal causes have no hook here and come from reconciliation.
 * Caveat (KERNEL.md §6.1): per-syscall tracepoints do not fire for 32-bit compat syscalls.
 */
#ifndef INOTRACE_ENTRY_TRACEPOINT_BPF_H
#define INOTRACE_ENTRY_TRACEPOINT_BPF_H

static __always_inline __u32 current_tid(void)
{
	return (__u32)bpf_get_current_pid_tgid();
}

static __always_inline void pending_store(struct pending_call *pc)
{
	__u32 tid = current_tid();
	if (bpf_map_update_elem(&pending, &tid, pc, BPF_ANY))
		count(INOTRACE_CNT_PENDING_FULL);
}

/* Takes (and removes) this thread's pending call of `kind`. */
static __always_inline bool pending_take(__u32 kind, struct pending_call *out)
{
	__u32 tid = current_tid();
	struct pending_call *pc = bpf_map_lookup_elem(&pending, &tid);
	if (!pc)
		return false;
	bool match = pc->kind == kind;
	if (match)
		__builtin_memcpy(out, pc, sizeof(*out));
	bpf_map_delete_elem(&pending, &tid);
	return match;
}

SEC("tracepoint/syscalls/sys_enter_inotify_add_watch")
int tp_enter_add_watch(struct trace_event_raw_sys_enter *ctx)
{
	if (!task_selected())
		return 0;
	struct pending_call pc = {};
	pc.kind = PENDING_ADD;
	pc.fd = (int)ctx->args[0];
	pc.user_path = ctx->args[1];
	pc.req_mask = (__u32)ctx->args[2];
	struct fsnotify_group *group = group_of_fd(pc.fd);
	if (group) {
		pc.group = (__u64)group;
		pc.idr_next = BPF_CORE_READ(group, inotify_data.idr.idr_next);
		pc.have_idr_next = 1;
	}
	pending_store(&pc);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_inotify_add_watch")
int tp_exit_add_watch(struct trace_event_raw_sys_exit *ctx)
{
	struct pending_call pc;
	if (!pending_take(PENDING_ADD, &pc))
		return 0;
	/* The path is read at exit: the kernel has just copied it, so it is resident. */
	handle_add_result(pc.fd, (const char *)pc.user_path, pc.req_mask, pc.have_idr_next,
			  pc.idr_next, ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_inotify_rm_watch")
int tp_enter_rm_watch(struct trace_event_raw_sys_enter *ctx)
{
	if (!task_selected())
		return 0;
	struct pending_call pc = {};
	pc.kind = PENDING_RM;
	if (!capture_mark(&pc, (int)ctx->args[0], (__s32)ctx->args[1]))
		return 0; /* unknown wd: the syscall fails with EINVAL, nothing is removed */
	pending_store(&pc);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_inotify_rm_watch")
int tp_exit_rm_watch(struct trace_event_raw_sys_exit *ctx)
{
	struct pending_call pc;
	if (!pending_take(PENDING_RM, &pc))
		return 0;
	if (ctx->ret == 0)
		handle_removal(&pc, INOTRACE_REASON_RM_WATCH);
	return 0;
}

static __always_inline int init_enter(__u32 flags)
{
	struct pending_call pc = {};
	pc.kind = PENDING_INIT;
	pc.req_mask = flags;
	pc.selected = task_selected();
	pending_store(&pc);
	return 0;
}

static __always_inline int init_exit(long ret)
{
	struct pending_call pc;
	if (!pending_take(PENDING_INIT, &pc))
		return 0;
	handle_init_result(pc.req_mask, ret, pc.selected);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_inotify_init1")
int tp_enter_init1(struct trace_event_raw_sys_enter *ctx)
{
	return init_enter((__u32)ctx->args[0]);
}

SEC("tracepoint/syscalls/sys_exit_inotify_init1")
int tp_exit_init1(struct trace_event_raw_sys_exit *ctx)
{
	return init_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_inotify_init")
int tp_enter_init(struct trace_event_raw_sys_enter *ctx)
{
	return init_enter(0);
}

SEC("tracepoint/syscalls/sys_exit_inotify_init")
int tp_exit_init(struct trace_event_raw_sys_exit *ctx)
{
	return init_exit(ctx->ret);
}

#endif /* INOTRACE_ENTRY_TRACEPOINT_BPF_H */
