// inotrace's own handlers of two kinds of program sections, registered with libbpf before any
// object is opened.
//
// Iterators, SEC("iter/task_file"): loaded without libbpf's own parse of the kernel's BTF.
// libbpf 1.1 parses the whole kernel BTF for every BPF_PROG_TYPE_TRACING program, only to find
// an iterator's attach target by name: 1,340 page-sized reads of sysfs and a 5.5 MB copy,
// 5-11 ms of every `snapshot` (on its own thread in `trace`, beside the tracer's load), on top
// of the parse the CoreBtf made already. They are therefore opened as raw tracepoint programs, a
// type libbpf needs no kernel BTF for, and loaded as the iterators they are, attached to
// bpf_iter_task_file as the running kernel's BTF numbers it (shared_kernel_btf: the parse the
// CoreBtf made, where it is still held, or this boot's cache: kernel_func_ids.h).
//
// Both these and the syscall tracepoints, SEC("tracepoint/syscalls/..."): their typed casts
// (bpf/typed_read.bpf.h) are linked at the load, where libbpf has appended the bpf_loop
// callbacks (the name walks) that hold some of them; before, a program's instructions are its
// main body only. libbpf 1.1 loads the instructions the prepare hook leaves.
#pragma once

#include <bpf/btf.h>

#include <string>
#include <vector>

#include "util/error.h"

namespace inotrace {

// Registers the handlers. Once per process, before a second thread uses libbpf, whose table of
// sections is not thread-safe (init_libbpf_logging and ensure_libbpf_hooks call it).
void register_section_handlers();

// A typed-read program did not load: typed reads are the newest code on every kernel and
// bpf_rdonly_cast's rules changed between 6.2 and now, so the loader loads the probed twins next.
struct TypedLoadRefused : Error {
  using Error::Error;
};

// While alive, the programs this thread loads have their typed casts linked to the kfunc
// `cast_func` (TypedReadIds::cast_func); a program with casts loaded outside such a scope, or
// with a cast_func <= 0, fails to load. Scopes nest: the outer one is back after the inner.
class TypedCastsAtLoad {
 public:
  // Sets aside a refusal an earlier load left (take_rejected_program): the next is this
  // scope's. The outer scope's comes back with it.
  explicit TypedCastsAtLoad(int cast_func);
  ~TypedCastsAtLoad();
  TypedCastsAtLoad(const TypedCastsAtLoad&) = delete;
  TypedCastsAtLoad& operator=(const TypedCastsAtLoad&) = delete;
  // Why a hook could not link them in this scope (libbpf refused the new instructions, or no
  // kfunc was given): the typed program's failure, as a verifier's refusal is. "" if none.
  const std::string& link_failure() const;
  // After a load in this scope failed with `err` (libbpf's negative errno; `libbpf`: its last
  // message, taken before anything else logs): throws
  // TypedLoadRefused where the typed programs themselves were refused (their casts could not
  // be linked, or the verifier refused one of `typed_programs`), so that the caller loads the
  // probed twins; returns otherwise, where the probed programs would fail the same way (EPERM,
  // a map that cannot be created) and the caller reports its own error.
  void throw_if_typed_refused(int err, const std::vector<std::string>& typed_programs, const std::string& libbpf) const;

 private:
  int outer_cast_func_;
  std::string outer_failure_;
  std::string outer_rejected_;
};

}  // namespace inotrace
