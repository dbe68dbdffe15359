#include "events/creation_stack.h"

#include <string_view>

namespace inotrace {

const char* stack_quality_name(StackQuality q) {
  return q == StackQuality::FramePointer ? "frame-pointer" : "truncated";
}

size_t CreationStack::first_caller_frame() const {
  static constexpr std::string_view kWrappers[] = {"syscall.", "runtime/internal/syscall.", "golang.org/x/sys/unix.",
                                                   "internal/syscall/unix."};
  size_t i = frames.size() > 1 ? 1 : 0;
  auto wrapper = [](const std::string& s) {
    for (std::string_view w : kWrappers)
      if (s.starts_with(w)) return true;
    return false;
  };
  while (i + 1 < frames.size() && wrapper(frames[i].symbol)) i++;
  return i;
}

size_t CreationStack::memory_bytes() const {
  size_t n = sizeof(*this) + frames.capacity() * sizeof(StackFrame);
  for (const StackFrame& f : frames)
    if (f.symbol.capacity() > 15) n += f.symbol.capacity() + 1;  // past libstdc++'s inline buffer
  return n;
}

}  // namespace inotrace
