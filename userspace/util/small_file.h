// Whole small files of procfs and sysfs, read or written in one go.
#pragma once

#include <optional>
#include <string>

namespace inotrace {

// Reads a whole small file; nullopt if it cannot be read.
std::optional<std::string> read_small_file(const std::string& path);
// At most max_bytes of it (a file someone else shapes, e.g. /proc/PID/maps); *cut says whether
// there was more.
std::optional<std::string> read_file_prefix(const std::string& path, size_t max_bytes, bool* cut = nullptr);
// The same for a file of lines: where it was cut, only the lines that are whole (a line cut in
// two would parse as another, shorter one: a path, a mount point).
std::optional<std::string> read_lines_prefix(const std::string& path, size_t max_bytes, bool* cut = nullptr);
// Its content as a decimal integer; nullopt if unreadable or not a number.
std::optional<long long> read_long_file(const std::string& path);
bool write_long_file(const std::string& path, long long value, std::string* error);

}  // namespace inotrace
