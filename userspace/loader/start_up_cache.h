#pragma once
// Whether this boot's cache answers everything start-up asks of the kernel's BTF for one object:
// its CO-RE copy (core_btf.h) and the kernel function ids (kernel_func_ids.h). Then nothing
// parses the kernel's BTF, and callers skip taking the shared parse (kernel_btf.h).

#include <cstddef>
#include <string>

namespace inotrace {

bool start_up_cached(const std::string& kernel_btf_path, const void* elf, size_t elf_size);

}  // namespace inotrace
