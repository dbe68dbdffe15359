// The user stack that created a watch (--stacks). The kernel hands over return addresses; they
// mean something only with the process's mappings at that moment, so each frame is resolved to
// its binary (and build id, and file offset: enough to symbolise offline) when the add arrives.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace inotrace {

// How far the frame-pointer walk can be trusted.
enum class StackQuality : uint8_t {
  FramePointer,  // the walk reached a thread's or program's first frame: the stack is whole
  Truncated,     // it stopped early: a binary without frame pointers, an unmapped address, or
                 // the depth bound; the frames shown are right, the callers above them missing
};
const char* stack_quality_name(StackQuality q);

// A binary (executable or library) as mapped by the process that made the call.
struct StackModule {
  std::string path;      // as the process saw it (its mount namespace); may be hostile bytes
  std::string build_id;  // lowercase hex; "" if the binary has none or could not be read
};

struct StackFrame {
  uint64_t address = 0;  // the return address as captured, in the process's address space
  std::shared_ptr<const StackModule> module;
  uint64_t file_offset = 0;    // in module: build_id + file_offset symbolise anywhere
  std::string symbol;          // "" if no symbol table of the binary covers it
  uint64_t symbol_offset = 0;  // bytes past the symbol's start
};

// Deduplicated: every watch created by the same code path shares one.
struct CreationStack {
  std::vector<StackFrame> frames;  // innermost (the syscall wrapper) first
  StackQuality quality = StackQuality::Truncated;
  // Why frames lack binaries or are missing, "" when none do: "process exited before its
  // mappings were read" (frames are raw addresses), "stack budget exhausted" (no frames).
  std::string unresolved;
  // The first frame of the program's own code: past the syscall wrapper, and past Go's syscall
  // packages (syscall., golang.org/x/sys/unix., ...), which every Go watch shares.
  size_t first_caller_frame() const;
  // Approximate heap bytes of this stack, its strings included (modules are shared, not counted).
  size_t memory_bytes() const;
};

}  // namespace inotrace
