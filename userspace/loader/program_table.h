// Every BPF program of bpf/inotrace.bpf.c, declared once (plus any second attachment of one,
// Attach::SyscallTracepoint): its backend, what it attaches to, and
// what it needs of the kernel. Entries are bound to the skeleton's fields, so an entry whose
// program was renamed or removed does not compile, and ProgramTableTest fails for a program the
// table does not list. The tracer loads and attaches from this table, backend choice probes the
// entries marked `probe`, and preflight looks up the kallsyms of their targets.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "inotrace_bpf.skel.h"
#include "loader/backend.h"

namespace inotrace {

using SkeletonPrograms = decltype(inotrace_bpf::progs);

enum class Attach {
  BySection,  // the SEC() name says where (fentry/, fexit/, ksyscall/, tracepoint/...)
  Kprobe,     // SEC("kprobe"): attached by hand to the exact kallsyms name of `target`
  Kretprobe,  // SEC("kretprobe"): likewise, on return
  SyscallTracepoint,  // a syscall tracepoint program attached once more, by hand, to `target`: one
                      // load (its verification is start-up time) serves two tracepoints
};

enum class Need {
  Required,  // without it the backend cannot run
  Optional,  // a kernel may lack the target: inotify_init (not on arm64/riscv), security_path_notify
             // (5.3+, CONFIG_SECURITY; without it adds carry the user's path)
};

// fentry programs that read a syscall wrapper's pt_regs need the kernel's BTF to type it as a
// struct (Debian 5.10's does not); each has a twin that does without.
enum class SyscallArgs { Any, Typed, Untyped };

// Programs that walk a path's names come twice: inline bounded loops for any kernel, and bpf_loop
// callbacks (5.17+), which the verifier checks in a fraction of the time (most of a short
// command's start-up). A kernel without bpf_loop rejects a program that merely names a callback.
enum class NameWalks { Any, Inline, Looped };

// The tracepoint programs' reads of kernel objects: probe reads on any kernel, or plain typed
// loads where the kernel lets a program type a pointer (bpf/typed_read.bpf.h, loader/typed_reads.h).
enum class Reads { Any, Probed, Typed };

// Whether a program walking names `walks` and reading `reads` is the one to load on a kernel with
// or without bpf_loop and typed reads.
constexpr bool loads_with(NameWalks walks, Reads reads, bool has_bpf_loop, bool typed_reads) {
  return (walks == NameWalks::Any || (walks == NameWalks::Looped) == has_bpf_loop) &&
         (reads == Reads::Any || (reads == Reads::Typed) == typed_reads);
}

struct ProgramSpec {
  bpf_program* SkeletonPrograms::*program;
  std::string_view name;  // the program's name, for messages (the field's name)
  Backend backend;
  Attach attach;
  std::string_view target;  // kernel function (fentry, kprobe) or syscall tracepoint
  Need need = Need::Required;
  SyscallArgs args = SyscallArgs::Any;
  int probe = 0;  // > 0: tried by backend choice before this backend is chosen, in this order
  NameWalks walks = NameWalks::Any;
  Reads reads = Reads::Any;
};

std::span<const ProgramSpec> program_table();

// The distinct targets of the entries to probe for backend `b`, in their probe order.
std::vector<std::string> probed_targets(Backend b);
// Every kernel function a program attaches to (kallsyms names the tracer and prober look up).
std::vector<std::string> attached_functions();

}  // namespace inotrace
