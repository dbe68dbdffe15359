#include "loader/kernel_btf.h"

#include <bpf/btf.h>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>

#include "util/error.h"

namespace inotrace {

KernelBtfPtr shared_kernel_btf(const std::string& path) {
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<const btf>> parsed;  // not owning: freed with the last holder
  std::lock_guard<std::mutex> lock(mu);  // held through a parse, so a concurrent caller waits for it
  if (KernelBtfPtr held = parsed[path].lock()) return held;
  btf* b = btf__parse(path.c_str(), nullptr);
  if (!b) throw Error(fmt::format("cannot parse BTF {}: {}", path, strerror(errno)));
  KernelBtfPtr fresh(b, [](const btf* p) { btf__free(const_cast<btf*>(p)); });
  parsed[path] = fresh;
  return fresh;
}

}  // namespace inotrace
