// /proc/PID/fdinfo/FD of an inotify fd (any process's file: its text is the kernel's, but a
// parser bug here runs as root on every snapshot).
#include <string_view>

#include "fuzz_check.h"
#include "snapshot/fdinfo_parser.h"

using namespace inotrace;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  FdinfoParse p = parse_inotify_fdinfo(text);
  FUZZ_CHECK(p.warnings.size() <= kFdinfoMaxWarnings + 1);
  if (!p.watches.empty()) FUZZ_CHECK(p.saw_inotify_line);
  for (const FdinfoWatch& w : p.watches) {
    FUZZ_CHECK(w.wd > 0);
    if (w.handle) FUZZ_CHECK(w.handle->bytes.size() <= 128);  // MAX_HANDLE_SZ
  }
  return 0;
}
