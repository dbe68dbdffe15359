// Iterator programs loaded without libbpf's own parse of the kernel's BTF.
//
// Why: libbpf 1.1 parses the whole kernel BTF for every BPF_PROG_TYPE_TRACING program, only to
// find an iterator's attach target by name: 1,340 page-sized reads of sysfs and a 5.5 MB copy,
// 5-11 ms of every `snapshot` (on its own thread in `trace`, beside the tracer's load), on top of
// the parse the CoreBtf made already. Programs in SEC("iter/task_file") are therefore opened as
// raw tracepoint programs, a type libbpf needs no kernel BTF for, and loaded as the iterators they
// are, attached to bpf_iter_task_file as the running kernel's BTF numbers it (shared_kernel_btf:
// the parse the CoreBtf made, where it is still held, or this boot's cache: kernel_func_ids.h).
#pragma once

#include <bpf/btf.h>

namespace inotrace {

// Registers the handler of SEC("iter/task_file"). Once per process, before a second thread uses
// libbpf, whose table of sections is not thread-safe (init_libbpf_logging calls it).
void register_iter_sections();

// While alive, the iterator programs this thread loads have their typed casts
// (bpf/typed_read.bpf.h) linked to the kfunc `cast_func` (TypedReadIds::cast_func). They are in
// a bpf_loop callback, a subprogram libbpf appends only at the load, so the section's prepare
// hook links them; a program with casts loaded outside such a scope fails to load.
class IterTypedCasts {
 public:
  explicit IterTypedCasts(int cast_func);
  ~IterTypedCasts();
  IterTypedCasts(const IterTypedCasts&) = delete;
  IterTypedCasts& operator=(const IterTypedCasts&) = delete;
  // Whether the hook could not link them (libbpf refused the new instructions): the typed
  // program's failure, as a verifier's refusal is.
  bool link_failed() const;
};

}  // namespace inotrace
