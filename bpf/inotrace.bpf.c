// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * inotrace's tracing object. Entry points per backend are thin: they collect arguments and call
 * the shared handlers of watch_handlers.bpf.h. Userspace disables (set_autoload false) the
 * entry points of every backend but the chosen one before load.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "watch_handlers.bpf.h"
#include "inotify_identity.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#include "entry_tracepoint.bpf.h"
#include "entry_fentry.bpf.h"
#include "entry_kprobe.bpf.h"
