#include "loader/early_maps.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <system_error>

namespace inotrace {

namespace {

using ObjectPtr = std::unique_ptr<bpf_object, decltype(&bpf_object__close)>;

using Shape = EarlyMaps::Shape;

std::vector<EarlyMaps::Created> create(const std::string& name, const Shape& d) {
  LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = d.flags);
  int fd = bpf_map_create(d.type, name.c_str(), d.key_size, d.value_size, d.max_entries, &opts);
  if (fd < 0) return {};
  std::vector<EarlyMaps::Created> out;
  out.push_back({name, UniqueFd(fd)});
  return out;
}

// On a thread of its own when one is to be had, else deferred to the hand-over's wait. The
// thread gets a copy: a failed launch has already moved from what it was given.
template <typename F>
std::future<std::vector<EarlyMaps::Created>> start(F f) {
  try {
    return std::async(std::launch::async, f);
  } catch (const std::system_error&) {
    return std::async(std::launch::deferred, std::move(f));
  }
}

// The maps whose shapes are read from the ELF object: the first on this thread, each other
// one on a thread of its own.
std::vector<EarlyMaps::Created> create_from_object(const void* elf, size_t elf_size, const std::vector<EarlyMaps::Spec>& specs) {
  std::vector<std::pair<std::string, Shape>> defs;
  {
    // Opening parses the ELF and its own BTF only (no kernel BTF): ~1 ms, on this thread.
    ObjectPtr obj(bpf_object__open_mem(elf, elf_size, nullptr), bpf_object__close);
    if (!obj) return {};
    for (const EarlyMaps::Spec& s : specs)
      if (const bpf_map* m = bpf_object__find_map_by_name(obj.get(), s.name.c_str()))
        defs.push_back({s.name, Shape{bpf_map__type(m), bpf_map__key_size(m), bpf_map__value_size(m),
                                      s.max_entries ? s.max_entries : bpf_map__max_entries(m), bpf_map__map_flags(m)}});
  }
  std::vector<std::future<std::vector<EarlyMaps::Created>>> others;
  for (size_t i = 1; i < defs.size(); i++) others.push_back(start([d = defs[i]] { return create(d.first, d.second); }));
  std::vector<EarlyMaps::Created> out;
  if (!defs.empty()) out = create(defs[0].first, defs[0].second);
  for (auto& f : others)
    for (auto& c : f.get()) out.push_back(std::move(c));
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

EarlyMaps::EarlyMaps(const void* elf, size_t elf_size, std::vector<Spec> specs) {
  // Where no thread is to be had (a pids limit), start() defers the work to hand_to()'s wait.
  std::vector<Spec> from_object;
  for (Spec& s : specs) {
    if (!s.known) {
      from_object.push_back(std::move(s));
      continue;
    }
    created_.push_back(start([name = s.name, shape = *s.known] { return create(name, shape); }));
  }
  if (!from_object.empty())
    created_.push_back(start([elf, elf_size, specs = std::move(from_object)] { return create_from_object(elf, elf_size, specs); }));
}

EarlyMaps::~EarlyMaps() {
  for (auto& f : created_)
    // A thread's maps close with it; deferred work never ran and is not run now.
    if (f.valid() && f.wait_for(std::chrono::seconds(0)) != std::future_status::deferred) f.wait();
}

size_t EarlyMaps::hand_to(bpf_object* obj) {
  std::vector<Created> created;
  for (auto& f : created_) try {
      for (Created& c : f.get()) created.push_back(std::move(c));
    } catch (const std::exception&) {
      // (only bad_alloc could come from there) libbpf creates those at load
    }
  created_.clear();
  size_t given = 0;
  for (Created& c : created) {
    bpf_map* m = bpf_object__find_map_by_name(obj, c.name.c_str());
    // reuse_fd dups the descriptor; ours closes at the end of this loop.
    if (m && same_definition(m, c.fd.get()) && bpf_map__reuse_fd(m, c.fd.get()) == 0) given++;
  }
  return given;
}

}  // namespace inotrace
