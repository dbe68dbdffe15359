// A creation stack as JSON (schema: docs/JSON.md, "stack"): the quality of the walk and each
// frame with what symbolises it here (symbol) and anywhere else (build_id + file_offset).
#pragma once

#include <nlohmann/json.hpp>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "events/creation_stack.h"

namespace inotrace {

nlohmann::ordered_json stack_to_json(const CreationStack& stack);

// stack_to_json(*stack).dump(), remembered per stack (stacks are interned and immutable): the
// per-event path of `trace --json --stacks`, where building it per add lost events.
const std::string& stack_json_text(const std::shared_ptr<const CreationStack>& stack);

// "symbol+0x1f" per frame (or "module+0xOFFSET" where no symbol covers it), innermost first:
// the short form for text output and for grouping.
std::string frame_label(const StackFrame& f);

// Watches grouped by the stack that created them, largest group first: [{"count", "pods",
// "top_frames", "stack"}]. Each input is (stack or null, the pod the watch names). Watches whose
// creation was not seen (made before tracing, or without --stacks) group under stack null.
nlohmann::ordered_json group_by_stack(const std::vector<std::pair<const CreationStack*, std::string>>& watches);

}  // namespace inotrace
