/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Creation stacks (--stacks): the calling task's user stack, by frame pointers.
 *
 * Walked here on 5.15+ rather than by bpf_get_stack(BPF_F_USER_STACK): the kernel's walk goes
 * on until a read faults, and every walk faults: the outermost frame's saved frame pointer is 0
 * (_start clears rbp) or a frameless libc start-up function's scratch rbp, and
 * __access_ok(0) holds. A user-access fault costs microseconds, far more under a hypervisor:
 * measured on the 2-core PVM guest of bench/ (kernel 6.18), bpf_get_stack of a 3-frame stack
 * took 4956 ns per call, a read at the stack pointer 144 ns. This walk stops before reading
 * what cannot be a frame: 0, not above the frame before it (stacks grow down), misaligned.
 */
#ifndef INOTRACE_USER_STACK_BPF_H
#define INOTRACE_USER_STACK_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "inotrace/events.h"

/* Set before load (--stacks). */
const volatile bool capture_stacks = false;

static __always_inline bool have_task_pt_regs(void)
{
	return bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_task_pt_regs);
}

/* The user registers at syscall entry (only with have_task_pt_regs()). */
static __always_inline struct pt_regs *user_regs(void)
{
	return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
}

/* A 64-bit task (user code segment __USER_CS). A 32-bit program's frames are 4-byte words:
 * its stack is left to bpf_get_stack, which knows them. */
static __always_inline bool user_regs_64bit(struct pt_regs *regs)
{
	return BPF_CORE_READ(regs, cs) == 0x33;
}

/* The word at the user stack pointer. A syscall wrapper without a frame of its own (glibc's,
 * Go's Syscall6) leaves its caller's return address there, and the frame-pointer walk, which
 * starts from the caller's frame, skips that caller. Kernels before 5.15 lack the helper: 0. */
static __always_inline __u64 user_stack_top_word(void)
{
	if (!have_task_pt_regs())
		return 0;
	struct pt_regs *regs = user_regs();
	if (!user_regs_64bit(regs))
		return 0;
	__u64 sp = BPF_CORE_READ(regs, sp);
	__u64 word = 0;
	bpf_probe_read_user(&word, sizeof(word), (void *)sp);
	return word;
}

/* Up to INOTRACE_STACK_DEPTH return addresses into dst, innermost (the syscall's user ip)
 * first, as bpf_get_stack(BPF_F_USER_STACK) gives them. Returns the bytes written, or a
 * negative errno. ctx: the program's own context, for bpf_get_stack before 5.15.
 * Unlike the kernel's walk this one ends at a frame below the one before it: a switch to
 * another stack (a signal's alternate stack, a fiber's) ends the stack there. */
static __always_inline long read_user_stack(void *ctx, __u64 *dst)
{
	if (!have_task_pt_regs())
		return bpf_get_stack(ctx, dst, INOTRACE_STACK_BYTES, BPF_F_USER_STACK);
	struct pt_regs *regs = user_regs();
	if (!user_regs_64bit(regs))
		return bpf_get_stack(ctx, dst, INOTRACE_STACK_BYTES, BPF_F_USER_STACK);
	__u64 fp = BPF_CORE_READ(regs, bp);
	dst[0] = BPF_CORE_READ(regs, ip);
	long n = 1;
	for (int i = 1; i < INOTRACE_STACK_DEPTH; i++) {
		__u64 frame[2]; /* the caller's frame pointer, the return address */
		if (!fp || (fp & 7) || bpf_probe_read_user(frame, sizeof(frame), (void *)fp))
			break;
		if (!frame[1])
			break;
		dst[i] = frame[1];
		n = i + 1;
		if (frame[0] <= fp)
			break;
		fp = frame[0];
	}
	return n * 8;
}

#endif /* INOTRACE_USER_STACK_BPF_H */
