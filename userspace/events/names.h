// Human and machine names for inotify masks, errnos, event types and removal reasons.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/event.h"

namespace inotrace {

// IN_* names of the bits set in an inotify watch mask, in bit order. Unknown bits come out as
// hex ("0x100000") so nothing is hidden.
std::vector<std::string> mask_names(uint32_t mask);
// "IN_MODIFY|IN_CREATE", or "0" for an empty mask.
std::string mask_string(uint32_t mask);
// As mask_string, with the 12 bits of IN_ALL_EVENTS said once: "IN_ALL_EVENTS|IN_ONLYDIR" (text output).
std::string short_mask_string(uint32_t mask);
// Parses "IN_MODIFY|IN_CREATE" or a number; nullopt on an unknown name.
std::optional<uint32_t> parse_mask(std::string_view text);

// inotify_init1 flag names (IN_NONBLOCK, IN_CLOEXEC).
std::string init_flags_string(uint32_t flags);

// "ENOSPC" for 28; "E123" for numbers without a name.
std::string errno_name(int err);

std::string_view event_type_name(EventType t);   // "add", "update", ...
std::string_view reason_name(Reason r);          // "rm_watch", ...
std::string_view path_source_name(PathSource s);  // "syscall", "dentry", ...
std::string_view pid_source_name(PidSource s);    // "actor", "adder", "last_holder", ...
std::vector<std::string> reason_names(ReasonSet set);  // in enum order

}  // namespace inotrace
