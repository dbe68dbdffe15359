// /proc/PID/maps text: which binary a creating stack's addresses belong to. A process shapes
// its own maps (file names, mappings), so every line is hostile.
#include <string_view>

#include "fuzz_check.h"
#include "stacks/process_maps.h"

using namespace inotrace;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto maps = parse_executable_mappings(text);
  for (size_t i = 0; i < maps.size(); i++) {
    const FileMapping& m = maps[i];
    FUZZ_CHECK(m.start < m.end);                       // a range that holds something
    FUZZ_CHECK(!m.path.empty() && m.path[0] == '/');  // a file, never "[vdso]" or anonymous
    FUZZ_CHECK(m.path.find('\n') == std::string::npos);
    FUZZ_CHECK(i == 0 || maps[i - 1].start <= m.start);  // sorted for the lookup
    // Every mapping is found by its own first address, unless an earlier one overlaps it.
    const FileMapping* found = mapping_of(maps, m.start);
    FUZZ_CHECK(found && found->contains(m.start));
  }
  return 0;
}
