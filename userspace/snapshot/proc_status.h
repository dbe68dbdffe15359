// Parser for /proc/<pid>/status: the one field inotrace reads from it.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace inotrace {

// The real uid from the "Uid:\t<real>\t<effective>\t<saved>\t<fs>" line; nullopt if there is no
// such line or its first field is not a decimal uid.
std::optional<uint32_t> parse_status_real_uid(std::string_view status);

}  // namespace inotrace
