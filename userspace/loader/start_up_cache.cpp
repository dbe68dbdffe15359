#include "loader/start_up_cache.h"

#include "loader/core_btf.h"
#include "loader/kernel_func_ids.h"

namespace inotrace {

bool start_up_cached(const std::string& kernel_btf_path, const void* elf, size_t elf_size) {
  return kernel_func_ids_cached(kernel_btf_path) && CoreBtf::cached(kernel_btf_path, elf, elf_size);
}

}  // namespace inotrace
