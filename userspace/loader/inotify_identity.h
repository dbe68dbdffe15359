// How inotify files and groups are recognised on the running kernel: the addresses of
// inotify_release (a file's f_op->release) and inotify_freeing_mark (a group's
// ops->freeing_mark), which every inotrace program compares against.
#pragma once

#include <linux/types.h>

#include <cstdint>
#include <string>

#include "loader/preflight.h"

struct bpf_program;

namespace inotrace {

// Where one loaded BPF object keeps what identify_inotify (bpf/inotify_identity.bpf.h) learns:
// its .bss globals, memory-mapped by the skeleton.
struct IdentityGlobals {
  __u64* release = nullptr;
  __u64* freeing_mark = nullptr;
  const char* dentry_name = nullptr;  // 8 bytes
};

struct InotifyIdentity {
  uint64_t release = 0;
  uint64_t freeing_mark = 0;
  std::string how;  // "learnt from an inotify fd", or "from /proc/kallsyms (why)"
};

// Fills `globals`: runs the loaded `learner` program once (BPF_PROG_TEST_RUN) on an inotify fd
// opened for it, and checks what it read is an inotify file. Kernels that cannot test-run a
// raw_tp program (< 5.10), or when no inotify instance is left to open (max_user_instances),
// fall back to /proc/kallsyms. Throws Error naming what is missing.
InotifyIdentity identify_inotify(const bpf_program* learner, const IdentityGlobals& globals, const KernelFacts& facts);

}  // namespace inotrace
