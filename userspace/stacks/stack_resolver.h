// --stacks: turns the return addresses the kernel captured into a CreationStack — each frame's
// binary, build id, file offset and symbol — and interns it, so the many watches one code path
// creates share one stack. Mappings are read from /proc/PID/maps when the add arrives (they
// mean nothing later); binaries are opened through /proc/PID/map_files (the very file mapped,
// even in a container's mount namespace) and their symbol tables kept per binary.
//
// Every process that adds a watch shapes what is read here (its maps, its binaries' names and
// tables, how many distinct stacks it makes), so every cache is bounded in entries and bytes,
// and filesystems whose server could stall a read are never opened.
#pragma once

#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "events/creation_stack.h"
#include "stacks/process_maps.h"

namespace inotrace {

namespace symbols {
class ElfImage;
}

class StackResolver {
 public:
  explicit StackResolver(std::string proc_root = "/proc");
  ~StackResolver();
  StackResolver(const StackResolver&) = delete;
  StackResolver& operator=(const StackResolver&) = delete;

  // ips: innermost first, as bpf_get_stack gave them; top_word: the word at the user stack
  // pointer (0 if unknown). Never null for a non-empty ips.
  std::shared_ptr<const CreationStack> resolve(uint32_t pid, const std::vector<uint64_t>& ips, uint64_t top_word);

  size_t distinct_stacks() const { return interned_.size(); }
  size_t binaries() const { return binaries_.size(); }
  // Heap held by the interned stacks (not the symbol tables).
  size_t stacks_memory_bytes() const { return interned_bytes_; }
  // Stacks not kept because the budget was spent (they come out as "stack budget exhausted").
  uint64_t dropped_stacks() const { return dropped_; }

 private:
  struct Binary;
  struct ProcessMaps {
    std::vector<FileMapping> mappings;
    uint64_t read_ns = 0;
  };
  const ProcessMaps& mappings_of(uint32_t pid, const std::vector<uint64_t>& addresses);
  Binary& binary_of(uint32_t pid, const FileMapping& m);
  std::unique_ptr<Binary> open_binary(uint32_t pid, const FileMapping& m);
  StackFrame frame_at(uint32_t pid, const FileMapping& m, uint64_t address, bool return_address);
  std::vector<StackFrame> frames_of(uint32_t pid, const std::vector<FileMapping>& maps,
                                    const std::vector<uint64_t>& ips, uint64_t top_word);
  std::shared_ptr<const CreationStack> resolve_with(uint32_t pid, const std::vector<FileMapping>& maps,
                                                    const std::vector<uint64_t>& ips, uint64_t top_word);
  std::shared_ptr<const CreationStack> intern(CreationStack stack);

  std::string proc_;
  absl::flat_hash_map<uint32_t, ProcessMaps> processes_;
  absl::flat_hash_map<std::pair<uint32_t, uint64_t>, std::unique_ptr<Binary>> binaries_;  // (dev, ino)
  uint64_t binary_bytes_ = 0;  // file sizes of the binaries whose tables are kept
  absl::flat_hash_map<std::string, std::shared_ptr<const CreationStack>> interned_;
  // (pid, maps read at, addresses) -> its stack: a burst of adds from one code path resolves
  // and symbolises once, not per add (that cost lost events at 100k adds/s).
  absl::flat_hash_map<std::string, std::shared_ptr<const CreationStack>> recent_;
  size_t interned_bytes_ = 0;
  uint64_t dropped_ = 0;
  std::shared_ptr<const CreationStack> over_budget_;
};

}  // namespace inotrace
