// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The benchmarks' floor: "null programs" attached at exactly the points each of inotrace's
 * backends uses (userspace/loader/program_table.cpp, bpf/entry_*.bpf.h), with empty bodies.
 * What a traced run costs above this floor is inotrace's own work (handlers, probe reads, ring
 * buffer); what the floor costs above an untraced run is the attach mechanism alone (syscall
 * tracepoint slow path, trampoline, kprobe int3/ftrace). bench/null_floor.c loads one set.
 *
 * Program names start with the backend's prefix (tp_, fe_, kp_): the loader keeps the chosen
 * backend's set and disables the others before load. fentry and the kprobes of inotify's own
 * functions get their target in the loader (a missing optional function is skipped there).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Tracepoint backend: the syscall tracepoints of adds, rm_watch and instance creation. */
SEC("tracepoint/syscalls/sys_enter_inotify_add_watch") int tp_enter_add(void *ctx) { return 0; }
SEC("tracepoint/syscalls/sys_exit_inotify_add_watch") int tp_exit_add(void *ctx) { return 0; }
SEC("tracepoint/syscalls/sys_enter_inotify_rm_watch") int tp_enter_rm(void *ctx) { return 0; }
SEC("tracepoint/syscalls/sys_exit_inotify_rm_watch") int tp_exit_rm(void *ctx) { return 0; }
SEC("tracepoint/syscalls/sys_enter_inotify_init1") int tp_enter_init1(void *ctx) { return 0; }
SEC("tracepoint/syscalls/sys_exit_inotify_init1") int tp_exit_init1(void *ctx) { return 0; }
SEC("tracepoint/syscalls/sys_enter_inotify_init") int tp_enter_init(void *ctx) { return 0; }
SEC("tracepoint/syscalls/sys_exit_inotify_init") int tp_exit_init(void *ctx) { return 0; }

/* fentry backend: trampolines on the syscall wrappers and inotify's functions (targets set by
 * the loader, which knows which ones are entry (fentry) and which exit (fexit) points). */
SEC("fentry") int fe_enter_add(void *ctx) { return 0; }
SEC("fexit") int fe_exit_add(void *ctx) { return 0; }
SEC("fentry") int fe_enter_update(void *ctx) { return 0; }
SEC("fexit") int fe_exit_update(void *ctx) { return 0; }
SEC("fentry") int fe_path_notify(void *ctx) { return 0; }
SEC("fexit") int fe_add_mark(void *ctx) { return 0; }
SEC("fentry") int fe_enter_rm(void *ctx) { return 0; }
SEC("fexit") int fe_exit_rm(void *ctx) { return 0; }
SEC("fentry") int fe_freeing_mark(void *ctx) { return 0; }
SEC("fentry") int fe_enter_init1(void *ctx) { return 0; }
SEC("fexit") int fe_exit_init1(void *ctx) { return 0; }
SEC("fentry") int fe_enter_init(void *ctx) { return 0; }
SEC("fexit") int fe_exit_init(void *ctx) { return 0; }
SEC("fentry") int fe_enter_destroy(void *ctx) { return 0; }
SEC("fexit") int fe_exit_destroy(void *ctx) { return 0; }

/* kprobe backend: ksyscall for the syscalls (libbpf finds the wrapper), kprobes on inotify's
 * functions by their kallsyms name (the loader also accepts a .isra/.constprop clone). */
SEC("ksyscall/inotify_add_watch") int kp_enter_add(void *ctx) { return 0; }
SEC("kretsyscall/inotify_add_watch") int kp_exit_add(void *ctx) { return 0; }
SEC("kprobe") int kp_path_notify(void *ctx) { return 0; }
SEC("kprobe") int kp_enter_add_mark(void *ctx) { return 0; }
SEC("kretprobe") int kp_exit_add_mark(void *ctx) { return 0; }
SEC("ksyscall/inotify_rm_watch") int kp_enter_rm(void *ctx) { return 0; }
SEC("kretsyscall/inotify_rm_watch") int kp_exit_rm(void *ctx) { return 0; }
SEC("kprobe") int kp_freeing_mark(void *ctx) { return 0; }
SEC("ksyscall/inotify_init1") int kp_enter_init1(void *ctx) { return 0; }
SEC("kretsyscall/inotify_init1") int kp_exit_init1(void *ctx) { return 0; }
SEC("ksyscall/inotify_init") int kp_enter_init(void *ctx) { return 0; }
SEC("kretsyscall/inotify_init") int kp_exit_init(void *ctx) { return 0; }
SEC("kprobe") int kp_enter_destroy(void *ctx) { return 0; }
SEC("kretprobe") int kp_exit_destroy(void *ctx) { return 0; }
