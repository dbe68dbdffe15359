// Event -> one aligned text line for `inotrace trace`.
#pragma once

#include <string>

#include "events/event.h"
#include "util/wall_clock.h"

namespace inotrace {

std::string text_header();
std::string event_to_text(const Event& ev, const WallClock& clock);
// The same line appended to `out` (the trace output's batch).
void append_event_text(std::string& out, const Event& ev, const WallClock& clock);

}  // namespace inotrace
