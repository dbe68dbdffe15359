/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Tracepoint backend: syscall tracepoints only (no trampolines, no kprobes needed). Adds and
 * rm_watch are exact; other removal causes have no hook here and come from reconciliation.
 * Caveat: per-syscall tracepoints do not fire for 32-bit compat syscalls (the compat entry
 * points have no syscalls:sys_enter_* events of their own).
 */
#ifndef INOTRACE_ENTRY_TRACEPOINT_BPF_H
#define INOTRACE_ENTRY_TRACEPOINT_BPF_H

/* Each add and rm_watch program comes in up to three variants: inline name walks for kernels
 * before 5.17 and bpf_loop ones after (enum name_walks), and, where the kernel lets a program
 * type a pointer (6.2+), typed reads (enum kernel_reads, kernel_reads.bpf.h). Userspace loads one. */
static __always_inline void tp_add_enter(struct trace_event_raw_sys_enter *ctx, const enum kernel_reads reads)
{
	add_enter((int)ctx->args[0], (const char *)ctx->args[1], (__u32)ctx->args[2], false, reads);
}

SEC("tracepoint/syscalls/sys_enter_inotify_add_watch")
int tp_enter_add_watch(struct trace_event_raw_sys_enter *ctx)
{
	tp_add_enter(ctx, READS_PROBED);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_inotify_add_watch")
int tp_enter_add_watch_typed(struct trace_event_raw_sys_enter *ctx)
{
	tp_add_enter(ctx, READS_TYPED);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_inotify_add_watch")
int tp_exit_add_watch(struct trace_event_raw_sys_exit *ctx)
{
	add_exit(ctx->ret, ctx, ADD_EXIT_SYSCALL_ONLY, NAMES_INLINE, READS_PROBED);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_inotify_add_watch")
int tp_exit_add_watch_looped(struct trace_event_raw_sys_exit *ctx)
{
	add_exit(ctx->ret, ctx, ADD_EXIT_SYSCALL_ONLY, NAMES_LOOPED, READS_PROBED);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_inotify_add_watch")
int tp_exit_add_watch_typed(struct trace_event_raw_sys_exit *ctx)
{
	add_exit(ctx->ret, ctx, ADD_EXIT_SYSCALL_ONLY, NAMES_LOOPED, READS_TYPED);
	return 0;
}

static __always_inline void rm_enter(struct trace_event_raw_sys_enter *ctx, const enum kernel_reads reads)
{
	if (!task_selected())
		return;
	struct pending_call pc = {};
	pc.kind = PENDING_RM;
	if (!capture_mark(&pc, (int)ctx->args[0], (__s32)ctx->args[1], reads))
		return; /* unknown wd: the syscall fails with EINVAL, nothing is removed */
	pending_store(&pc);
}

SEC("tracepoint/syscalls/sys_enter_inotify_rm_watch")
int tp_enter_rm_watch(struct trace_event_raw_sys_enter *ctx)
{
	rm_enter(ctx, READS_PROBED);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_inotify_rm_watch")
int tp_enter_rm_watch_typed(struct trace_event_raw_sys_enter *ctx)
{
	rm_enter(ctx, READS_TYPED);
	return 0;
}

static __always_inline void rm_exit(long ret, const enum name_walks walks, const enum kernel_reads reads)
{
	struct pending_call pc;
	if (!pending_take(PENDING_RM, &pc))
		return;
	if (ret == 0)
		handle_removal(&pc, INOTRACE_REASON_RM_WATCH, walks, reads);
}

SEC("tracepoint/syscalls/sys_exit_inotify_rm_watch")
int tp_exit_rm_watch(struct trace_event_raw_sys_exit *ctx)
{
	rm_exit(ctx->ret, NAMES_INLINE, READS_PROBED);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_inotify_rm_watch")
int tp_exit_rm_watch_looped(struct trace_event_raw_sys_exit *ctx)
{
	rm_exit(ctx->ret, NAMES_LOOPED, READS_PROBED);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_inotify_rm_watch")
int tp_exit_rm_watch_typed(struct trace_event_raw_sys_exit *ctx)
{
	rm_exit(ctx->ret, NAMES_LOOPED, READS_TYPED);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_inotify_init1")
int tp_enter_init1(struct trace_event_raw_sys_enter *ctx)
{
	return init_enter((__u32)ctx->args[0]);
}

/* Attached to sys_exit_inotify_init too (loader/program_table.cpp): the same ret, one load. */
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

#endif /* INOTRACE_ENTRY_TRACEPOINT_BPF_H */
