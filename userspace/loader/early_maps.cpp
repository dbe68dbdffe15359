#include "loader/early_maps.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <memory>
#include <system_error>

namespace inotrace {

namespace {

using ObjectPtr = std::unique_ptr<bpf_object, decltype(&bpf_object__close)>;

std::vector<EarlyMaps::Created> create_maps(const void* elf, size_t elf_size, const std::vector<std::string>& names) {
  std::vector<EarlyMaps::Created> out;
  // Opening parses the ELF and its own BTF only (no kernel BTF): ~1 ms, on this thread.
  ObjectPtr obj(bpf_object__open_mem(elf, elf_size, nullptr), bpf_object__close);
  if (!obj) return out;
  for (const std::string& name : names) {
    const bpf_map* m = bpf_object__find_map_by_name(obj.get(), name.c_str());
    if (!m) continue;
    LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = bpf_map__map_flags(m));
    int fd = bpf_map_create(bpf_map__type(m), name.c_str(), bpf_map__key_size(m), bpf_map__value_size(m),
                            bpf_map__max_entries(m), &opts);
    if (fd >= 0) out.push_back({name, UniqueFd(fd)});
  }
  return out;
}

bool same_definition(const bpf_map* m, int fd) {
  bpf_map_info info{};
  __u32 len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) return false;
  return info.type == (__u32)bpf_map__type(m) && info.key_size == bpf_map__key_size(m) &&
         info.value_size == bpf_map__value_size(m) && info.max_entries == bpf_map__max_entries(m) &&
         info.map_flags == bpf_map__map_flags(m);
}

}  // namespace

EarlyMaps::EarlyMaps(const void* elf, size_t elf_size, std::vector<std::string> names) {
  try {
    created_ = std::async(std::launch::async, [elf, elf_size, names = std::move(names)] {
      return create_maps(elf, elf_size, names);
    });
  } catch (const std::system_error&) {
    // no thread to be had (a pids limit): libbpf creates them at load, as without this
  }
}

EarlyMaps::~EarlyMaps() {
  if (created_.valid()) created_.wait();  // its maps close with it
}

size_t EarlyMaps::hand_to(bpf_object* obj) {
  if (!created_.valid()) return 0;
  std::vector<Created> created;
  try {
    created = created_.get();
  } catch (const std::exception&) {
    return 0;  // (only bad_alloc could come from there) libbpf creates them at load
  }
  size_t given = 0;
  for (Created& c : created) {
    bpf_map* m = bpf_object__find_map_by_name(obj, c.name.c_str());
    // reuse_fd dups the descriptor; ours closes at the end of this loop.
    if (m && same_definition(m, c.fd.get()) && bpf_map__reuse_fd(m, c.fd.get()) == 0) given++;
  }
  return given;
}

}  // namespace inotrace
