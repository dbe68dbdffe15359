/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * kprobe/kretprobe backend: the same functions as fentry, for kernels without trampolines.
 * Sections carry no target: userspace attaches each program to the exact symbol found in
 * /proc/kallsyms (compilers emit .isra/.constprop clones; .cold parts are not entry points).
 * The syscall programs use libbpf's ksyscall, which resolves the arch's wrapper.
 */
#ifndef INOTRACE_ENTRY_KPROBE_BPF_H
#define INOTRACE_ENTRY_KPROBE_BPF_H

#include "hook_handlers.bpf.h"

SEC("ksyscall/inotify_add_watch")
int BPF_KSYSCALL(kp_enter_add_watch, int fd, const char *pathname, __u32 mask)
{
	add_enter(fd, pathname, mask, true, READS_PROBED);
	return 0;
}

SEC("kretsyscall/inotify_add_watch")
int BPF_KRETPROBE(kp_exit_add_watch, long ret)
{
	add_exit(ret, ctx, ADD_EXIT_HOOKED, NAMES_INLINE, READS_PROBED);
	return 0;
}

SEC("kretsyscall/inotify_add_watch")
int BPF_KRETPROBE(kp_exit_add_watch_looped, long ret)
{
	add_exit(ret, ctx, ADD_EXIT_HOOKED, NAMES_LOOPED, READS_PROBED);
	return 0;
}

SEC("kprobe")
int BPF_KPROBE(kp_path_notify, const struct path *path, __u64 mask, unsigned int obj_type)
{
	hooked_path_notify(path, obj_type);
	return 0;
}

/* kretprobes see no arguments: remember the mark at entry, keep it only if the call returns 0. */
SEC("kprobe")
int BPF_KPROBE(kp_enter_add_mark_locked, struct fsnotify_mark *mark)
{
	struct pending_call *pc = pending_slot();
	if (pc && pc->kind == PENDING_ADD)
		pc->cand_mark = (__u64)mark;
	return 0;
}

SEC("kretprobe")
int BPF_KRETPROBE(kp_exit_add_mark_locked, int ret)
{
	struct pending_call *pc = pending_slot();
	if (!pc || pc->kind != PENDING_ADD || !pc->cand_mark)
		return 0;
	__u64 mark = pc->cand_mark;
	pc->cand_mark = 0;
	if (ret == 0)
		hooked_mark_added((struct fsnotify_mark *)mark);
	return 0;
}

SEC("ksyscall/inotify_rm_watch")
int BPF_KSYSCALL(kp_enter_rm_watch, int fd, __s32 wd)
{
	if (task_selected())
		hooked_rm_enter(fd, wd);
	return 0;
}

SEC("kretsyscall/inotify_rm_watch")
int BPF_KRETPROBE(kp_exit_rm_watch, long ret)
{
	hooked_rm_exit();
	return 0;
}

SEC("kprobe")
int BPF_KPROBE(kp_freeing_mark, struct fsnotify_mark *mark, struct fsnotify_group *group)
{
	hooked_freeing_mark(mark, group, NAMES_INLINE);
	return 0;
}

SEC("kprobe")
int BPF_KPROBE(kp_freeing_mark_looped, struct fsnotify_mark *mark, struct fsnotify_group *group)
{
	hooked_freeing_mark(mark, group, NAMES_LOOPED);
	return 0;
}

SEC("ksyscall/inotify_init1")
int BPF_KSYSCALL(kp_enter_init1, int flags)
{
	return init_enter(flags);
}

SEC("kretsyscall/inotify_init1")
int BPF_KRETPROBE(kp_exit_init1, long ret)
{
	return init_exit(ret, ctx);
}

SEC("ksyscall/inotify_init")
int kp_enter_init(struct pt_regs *ctx)
{
	return init_enter(0);
}

SEC("kretsyscall/inotify_init")
int BPF_KRETPROBE(kp_exit_init, long ret)
{
	return init_exit(ret, ctx);
}

SEC("kprobe")
int BPF_KPROBE(kp_enter_destroy_group, struct fsnotify_group *group)
{
	hooked_destroy_enter(group);
	return 0;
}

SEC("kretprobe")
int BPF_KRETPROBE(kp_exit_destroy_group)
{
	hooked_destroy_exit();
	return 0;
}

#endif /* INOTRACE_ENTRY_KPROBE_BPF_H */
