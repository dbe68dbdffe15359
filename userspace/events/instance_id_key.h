// Instance ids without kernel pointers. An instance is identified in the kernel by its
// fsnotify_group pointer (+ a creation sequence, since pointers are reused); a heap address is
// what /proc/kallsyms hides from unprivileged users, so it never leaves the process. Outputs
// carry SipHash-2-4 of (pointer, sequence) under a secret key instead, as the kernel's %p does:
// 16 hex digits, equal for the same instance in every command of one boot (the key lives in
// /run, a tmpfs cleared at boot), meaningless without the key.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "util/short_text.h"

namespace inotrace {

struct InstanceIdKey {
  uint64_t k0 = 0, k1 = 0;
  std::string origin;  // where it came from, for -v: the key file, or why the key is per-process
};

// Reads the key in dir/instance-key, creating dir (0700) and the file (0600, O_EXCL, random
// bytes) when missing. Trusts them only if they belong to the caller, cannot be written by
// anyone else and are no symlinks; throws inotrace::Error otherwise.
InstanceIdKey load_or_create_boot_key(const std::string& dir);

// This process's key: the per-boot one in kBootKeyDir, or (when that cannot be used, e.g. not
// root) a random one for this process only. Loaded once.
inline constexpr const char* kBootKeyDir = "/run/inotrace";
const InstanceIdKey& instance_id_key();

uint64_t siphash24(uint64_t k0, uint64_t k1, const void* data, size_t len);

// The id printed for instance (group pointer, sequence): 16 lowercase hex digits.
std::string opaque_instance_id(uint64_t group, uint64_t seq);
ShortText opaque_instance_id_text(uint64_t group, uint64_t seq);  // the same, without a heap string

}  // namespace inotrace
