// A per-boot cache of what start-up derives from the running kernel (its BTF), in a directory
// only root can write.
//
// Why: a short command spent ~25 ms of its ~50 ms start-up parsing /sys/kernel/btf/vmlinux
// and cutting a CO-RE BTF from it, on every run, although neither changes until the next boot
// (bench/run, "startup"). An entry is named after the boot (/proc/sys/kernel/random/boot_id),
// so what one boot wrote is never read in another (and is removed at this boot's next write:
// /run outlives a boot where it is a host directory mounted into a container).
//
// Trust (DESIGN.md §10): only a root process uses it; the directory (default /run/inotrace,
// created 0700, reached without following a stranger's symlink) must be owned by root and
// writable by no one else, and is used through its descriptor from then on; every entry is
// opened with O_NOFOLLOW and must be a root-owned regular file with one link; entries are
// written to a fresh O_EXCL file and renamed into place, so a reader never sees half of one.
// Anything else is a miss: the caller derives what it needs as without a cache. Trusted means
// uid 0: whoever is root on the node (a privileged container mounting the directory included)
// could plant an entry, as they could replace inotrace itself.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "util/unique_fd.h"

namespace inotrace {

class BootCache {
 public:
  // The cache in `dir`, created when missing. Unusable (see why_not) when not root, when the
  // boot has no id, or when `dir` or its parent could be written by anyone but root.
  explicit BootCache(const std::string& dir);

  // The process's cache: $INOTRACE_CACHE_DIR, else /run/inotrace; "off" for none.
  static const BootCache& process();

  bool usable() const { return dir_.valid(); }
  const std::string& dir() const { return path_; }
  const std::string& why_not() const { return why_not_; }

  // This boot's entry `name` opened for reading, or an invalid fd (absent, untrusted, no cache).
  UniqueFd open(std::string_view name) const;
  // Its bytes, when it is there, trusted and at most `max_bytes` long.
  std::optional<std::string> read(std::string_view name, size_t max_bytes) const;
  // Replaces this boot's entry `name` whole; false (and nothing half-written) when it cannot.
  bool write(std::string_view name, std::string_view bytes) const;

 private:
  std::string entry_name(std::string_view name) const;

  UniqueFd dir_;
  std::string path_;
  std::string boot_id_;
  std::string why_not_;
};

}  // namespace inotrace
