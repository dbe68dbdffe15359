// Typed reads for the tracepoint programs (bpf/typed_read.bpf.h): where the running kernel has
// the bpf_rdonly_cast kfunc (6.2+), the _typed programs read kernel objects with plain loads
// instead of one bpf_probe_read_kernel each.
//
// Why here and not by libbpf: a libbpf kfunc extern makes every load parse the kernel's whole
// BTF (~10 ms of start-up), and the minimal CO-RE BTF (core_btf.h) renumbers types, so the ids
// the kfunc takes cannot come from bpf_core_type_id_kernel. Both come from the per-boot id cache
// (kernel_func_ids.h) instead: the object calls a helper id no kernel has, which
// link_typed_casts rewrites into the kfunc's call, and set_typed_read_ids fills its .rodata.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

struct bpf_insn;
struct bpf_program;

namespace inotrace {

struct TypedReadIds {
  int cast_func = -1;  // bpf_rdonly_cast
  int file = -1, fsnotify_group = -1, xa_node = -1, inotify_inode_mark = -1, inode = -1, task_struct = -1, dentry = -1;
};

// What typed reads look up in the kernel's BTF, as kernel_func_ids.h keeps them.
std::span<const std::string_view> typed_read_kernel_names();

// Whether the kernel of the BTF at btf_path has bpf_rdonly_cast (6.2+); false where that BTF
// cannot be read.
bool kernel_has_typed_cast(const std::string& btf_path);

// The ids in the BTF at btf_path, or nullopt where the kernel has no bpf_rdonly_cast or lacks
// one of the types. Throws inotrace::Error when the BTF cannot be parsed.
std::optional<TypedReadIds> typed_read_ids(const std::string& btf_path);

// Before load: the object's type ids (the tracer's or the snapshot iterator's skeleton: both
// hold typed_read.bpf.h's .rodata).
template <class Skeleton>
void set_typed_read_ids(Skeleton* skel, const TypedReadIds& ids) {
  auto* ro = skel->rodata;
  ro->kernel_id_file = ids.file;
  ro->kernel_id_fsnotify_group = ids.fsnotify_group;
  ro->kernel_id_xa_node = ids.xa_node;
  ro->kernel_id_inotify_inode_mark = ids.inotify_inode_mark;
  ro->kernel_id_inode = ids.inode;
  ro->kernel_id_task_struct = ids.task_struct;
  ro->kernel_id_dentry = ids.dentry;
}

// The kfunc a load links the casts to (TypedCastsAtLoad): `for_test` where positive (how a test
// has the typed programs refused), else ids->cast_func; 0 without ids: no typed programs.
int cast_func_for_load(const TypedReadIds* ids, int for_test);

// Whether `insn` is one of typed_read.bpf.h's casts, a call link_typed_casts rewrites.
bool is_typed_cast(const bpf_insn& insn);

// Makes each of `prog`'s casts a call of the kfunc `cast_func`. Returns how many it rewrote.
// Throws inotrace::Error when libbpf refuses the new instructions.
int link_typed_casts(bpf_program* prog, int cast_func);

}  // namespace inotrace
