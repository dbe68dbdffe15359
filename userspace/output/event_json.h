// Event -> one NDJSON object (schema: docs/JSON.md, "trace events").
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "events/event.h"
#include "util/wall_clock.h"

namespace inotrace {

nlohmann::ordered_json event_to_json(const Event& ev, const WallClock& clock, std::string_view backend);
// The same object as one compact line, byte for byte what event_to_json(...).dump() gives,
// written directly (the per-event path of `trace --json`).
std::string event_to_json_line(const Event& ev, const WallClock& clock, std::string_view backend);
// The same line appended to `out` (the trace output's batch).
void append_event_json_line(std::string& out, const Event& ev, const WallClock& clock, std::string_view backend);

// Puts `path` (and `path_b64` with the exact bytes when they are not valid UTF-8) into obj.
void put_path(nlohmann::ordered_json& obj, std::string_view key, const std::string& path);

}  // namespace inotrace
