/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Tracepoint backend: syscall tracepoints only (no trampolines, no kprobes needed). Adds and
 * rm_watch are exact; other removal causes have no hook here and come from reconciliation.
 * Caveat: per-syscall tracepoints do not fire for 32-bit compat syscalls (the compat entry
 * points have no syscalls:sys_enter_* events of their own).
 */
#ifndef INOTRACE_ENTRY_TRACEPOINT_BPF_H
#define INOTRACE_ENTRY_TRACEPOINT_BPF_H

SEC("tracepoint/syscalls/sys_enter_inotify_add_watch")
int tp_enter_add_watch(struct trace_event_raw_sys_enter *ctx)
{
	add_enter((int)ctx->args[0], (const char *)ctx->args[1], (__u32)ctx->args[2], false);
	return 0;
}

/* Each exit program that walks names comes twice (enum name_walks): inline for kernels
 * before 5.17, with bpf_loop after; userspace loads one. */
SEC("tracepoint/syscalls/sys_exit_inotify_add_watch")
int tp_exit_add_watch(struct trace_event_raw_sys_exit *ctx)
{
	add_exit(ctx->ret, ctx, ADD_EXIT_SYSCALL_ONLY, NAMES_INLINE);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_inotify_add_watch")
int tp_exit_add_watch_looped(struct trace_event_raw_sys_exit *ctx)
{
	add_exit(ctx->ret, ctx, ADD_EXIT_SYSCALL_ONLY, NAMES_LOOPED);
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

static __always_inline void rm_exit(long ret, const enum name_walks walks)
{
	struct pending_call pc;
	if (!pending_take(PENDING_RM, &pc))
		return;
	if (ret == 0)
		handle_removal(&pc, INOTRACE_REASON_RM_WATCH, walks);
}

SEC("tracepoint/syscalls/sys_exit_inotify_rm_watch")
int tp_exit_rm_watch(struct trace_event_raw_sys_exit *ctx)
{
	rm_exit(ctx->ret, NAMES_INLINE);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_inotify_rm_watch")
int tp_exit_rm_watch_looped(struct trace_event_raw_sys_exit *ctx)
{
	rm_exit(ctx->ret, NAMES_LOOPED);
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
	return init_exit(ctx->ret, ctx);
}

SEC("tracepoint/syscalls/sys_enter_inotify_init")
int tp_enter_init(struct trace_event_raw_sys_enter *ctx)
{
	return init_enter(0);
}

SEC("tracepoint/syscalls/sys_exit_inotify_init")
int tp_exit_init(struct trace_event_raw_sys_exit *ctx)
{
	return init_exit(ctx->ret, ctx);
}

#endif /* INOTRACE_ENTRY_TRACEPOINT_BPF_H */
