/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * fentry/fexit backend (BPF trampolines, x86_64 5.5+): hooks only inotify's own paths, so
 * unrelated syscalls cost nothing. Programs are named fe_*; userspace loads them only when
 * this backend is chosen. The syscall wrappers' names are x86_64's (__x64_sys_*), as is the
 * committed vmlinux.h.
 * Programs that read a syscall wrapper's pt_regs argument (fe_*_syscall_args) only load where
 * the kernel's BTF types that argument as a struct: Debian's 5.10 declares pt_regs there as a
 * forward, and the verifier refuses the access. Without them adds are reported from
 * inotify_update_watch (no fd, no failures before it) and rm_watch is recognised by context.
 */
#ifndef INOTRACE_ENTRY_FENTRY_BPF_H
#define INOTRACE_ENTRY_FENTRY_BPF_H

#include "hook_handlers.bpf.h"

SEC("fentry/__x64_sys_inotify_add_watch")
int BPF_PROG(fe_enter_add_watch_syscall_args, const struct pt_regs *regs)
{
	add_enter((int)PT_REGS_PARM1_CORE_SYSCALL(regs), (const char *)PT_REGS_PARM2_CORE_SYSCALL(regs),
		  (__u32)PT_REGS_PARM3_CORE_SYSCALL(regs), true, READS_PROBED);
	return 0;
}

SEC("fexit/__x64_sys_inotify_add_watch")
int BPF_PROG(fe_exit_add_watch_syscall_args, const struct pt_regs *regs, long ret)
{
	add_exit(ret, ctx, ADD_EXIT_HOOKED, NAMES_INLINE, READS_PROBED);
	return 0;
}

SEC("fexit/__x64_sys_inotify_add_watch")
int BPF_PROG(fe_exit_add_watch_syscall_args_looped, const struct pt_regs *regs, long ret)
{
	add_exit(ret, ctx, ADD_EXIT_HOOKED, NAMES_LOOPED, READS_PROBED);
	return 0;
}

SEC("fentry/inotify_update_watch")
int BPF_PROG(fe_enter_update_watch, struct fsnotify_group *group, struct inode *inode, __u32 arg)
{
	hooked_update_enter(group, arg);
	return 0;
}

SEC("fexit/inotify_update_watch")
int BPF_PROG(fe_exit_update_watch, struct fsnotify_group *group, struct inode *inode, __u32 arg, int ret)
{
	hooked_update_exit(ret, ctx, NAMES_INLINE);
	return 0;
}

SEC("fexit/inotify_update_watch")
int BPF_PROG(fe_exit_update_watch_looped, struct fsnotify_group *group, struct inode *inode, __u32 arg, int ret)
{
	hooked_update_exit(ret, ctx, NAMES_LOOPED);
	return 0;
}

SEC("fentry/security_path_notify")
int BPF_PROG(fe_path_notify, const struct path *path, __u64 mask, unsigned int obj_type)
{
	hooked_path_notify(path, obj_type);
	return 0;
}

SEC("fexit/fsnotify_add_mark_locked")
int BPF_PROG(fe_add_mark_locked, struct fsnotify_mark *mark)
{
	hooked_mark_added(mark);
	return 0;
}

SEC("fentry/__x64_sys_inotify_rm_watch")
int BPF_PROG(fe_enter_rm_watch_syscall_args, const struct pt_regs *regs)
{
	if (task_selected())
		hooked_rm_enter((int)PT_REGS_PARM1_CORE_SYSCALL(regs), (__s32)PT_REGS_PARM2_CORE_SYSCALL(regs));
	return 0;
}

/* The same without touching the arguments: "inside rm_watch" is all the reason needs. */
SEC("fentry/__x64_sys_inotify_rm_watch")
int BPF_PROG(fe_enter_rm_watch_no_args)
{
	if (task_selected())
		hooked_rm_enter(-1, -1);
	return 0;
}

SEC("fexit/__x64_sys_inotify_rm_watch")
int BPF_PROG(fe_exit_rm_watch, const struct pt_regs *regs, long ret)
{
	hooked_rm_exit();
	return 0;
}

SEC("fentry/inotify_freeing_mark")
int BPF_PROG(fe_freeing_mark, struct fsnotify_mark *mark, struct fsnotify_group *group)
{
	hooked_freeing_mark(mark, group, NAMES_INLINE);
	return 0;
}

SEC("fentry/inotify_freeing_mark")
int BPF_PROG(fe_freeing_mark_looped, struct fsnotify_mark *mark, struct fsnotify_group *group)
{
	hooked_freeing_mark(mark, group, NAMES_LOOPED);
	return 0;
}

SEC("fentry/__x64_sys_inotify_init1")
int BPF_PROG(fe_enter_init1_syscall_args, const struct pt_regs *regs)
{
	return init_enter((__u32)PT_REGS_PARM1_CORE_SYSCALL(regs));
}

SEC("fexit/__x64_sys_inotify_init1")
int BPF_PROG(fe_exit_init1, const struct pt_regs *regs, long ret)
{
	return init_exit(ret, ctx);
}

SEC("fentry/__x64_sys_inotify_init")
int BPF_PROG(fe_enter_init)
{
	return init_enter(0);
}

SEC("fexit/__x64_sys_inotify_init")
int BPF_PROG(fe_exit_init, const struct pt_regs *regs, long ret)
{
	return init_exit(ret, ctx);
}

SEC("fentry/fsnotify_destroy_group")
int BPF_PROG(fe_enter_destroy_group, struct fsnotify_group *group)
{
	hooked_destroy_enter(group);
	return 0;
}

SEC("fexit/fsnotify_destroy_group")
int BPF_PROG(fe_exit_destroy_group, struct fsnotify_group *group)
{
	hooked_destroy_exit();
	return 0;
}

#endif /* INOTRACE_ENTRY_FENTRY_BPF_H */
