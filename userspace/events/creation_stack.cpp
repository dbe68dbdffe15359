#include "events/creation_stack.h"

namespace inotrace {

const char* stack_quality_name(StackQuality q) {
  return q == StackQuality::FramePointer ? "frame-pointer" : "truncated";
}

size_t CreationStack::memory_bytes() const {
  size_t n = sizeof(*this) + frames.capacity() * sizeof(StackFrame);
  for (const StackFrame& f : frames)
    if (f.symbol.size() >= sizeof(std::string)) n += f.symbol.capacity() + 1;  // past the inline buffer
  return n;
}

}  // namespace inotrace
