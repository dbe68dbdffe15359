// /proc/PID/maps, executable file mappings only: which binary (and where in it) an address of
// that process belongs to.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace inotrace {

struct FileMapping {
  uint64_t start = 0, end = 0;  // [start, end) in the process
  uint64_t file_offset = 0;     // of `start` in the file
  uint32_t dev = 0;             // kernel dev_t (major << 20 | minor) of the file's filesystem
  uint64_t ino = 0;
  std::string path;             // as the kernel prints it ("\012" for a newline in a name)
  bool contains(uint64_t addr) const { return addr >= start && addr < end; }
};

// Parses maps text; lines that do not parse, anonymous and non-executable mappings are left
// out. Sorted by start.
std::vector<FileMapping> parse_executable_mappings(std::string_view text);

// The mapping holding addr, or nullptr (mappings sorted by start).
const FileMapping* mapping_of(const std::vector<FileMapping>& mappings, uint64_t addr);

}  // namespace inotrace
