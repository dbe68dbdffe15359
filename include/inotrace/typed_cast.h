/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Shared by bpf/typed_read.bpf.h and the loader (loader/typed_reads.h): the helper id the BPF
 * object calls where it means the bpf_rdonly_cast kfunc. No kernel has a helper of this id, so a
 * program the loader did not rewrite fails verification instead of running.
 */
#ifndef INOTRACE_TYPED_CAST_H
#define INOTRACE_TYPED_CAST_H

#define INOTRACE_TYPED_CAST_HELPER 0x7ffe

#endif
