// /proc/PID/status: the real uid of a process holding inotify fds (its comm, which the process
// chooses, comes first in that file).
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "snapshot/proc_status.h"

using namespace inotrace;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto uid = parse_status_real_uid(text);
  if (uid) {
    // Only ever read from a Uid: line, never guessed from elsewhere.
    FUZZ_CHECK(text.starts_with("Uid:") || text.find("\nUid:") != std::string_view::npos);
    FUZZ_CHECK(text.find(std::to_string(*uid)) != std::string_view::npos);
  }
  return 0;
}
