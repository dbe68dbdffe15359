// The BTF ids of the kernel functions start-up looks up by name (the fentry probes' targets,
// the snapshot iterator's bpf_iter_task_file, the kfunc and structs of typed reads), kept per
// boot (util/boot_cache.h).
//
// Why: on the tracepoint and kprobe backends nothing else on the start-up path needs the
// kernel's whole BTF once the CO-RE BTFs are cached too (core_btf.h); finding these few ids
// was a ~18 ms parse of /sys/kernel/btf/vmlinux on every run.
#pragma once

#include <string>

namespace inotrace {

// `name`'s id as a BTF_KIND_FUNC of the BTF at `btf_path`, or -1 when it has none. Asked of the
// running kernel's /sys/kernel/btf/vmlinux, the answer comes from this boot's cache when there,
// else from a parse (shared_kernel_btf) that also caches the ids of every name start-up asks
// for. Throws inotrace::Error when the BTF cannot be parsed.
int kernel_func_id(const std::string& btf_path, const std::string& name);
// Likewise for a BTF_KIND_STRUCT (kept in the cache as "struct:NAME").
int kernel_struct_id(const std::string& btf_path, const std::string& name);

// Whether this boot's cache answers for every name start-up asks about: when it does and the
// objects' CO-RE BTFs are cached as well, start-up needs no parse of the kernel's BTF.
bool kernel_func_ids_cached(const std::string& btf_path);

}  // namespace inotrace
