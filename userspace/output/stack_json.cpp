#include "output/stack_json.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

#include "output/event_json.h"

namespace inotrace {

nlohmann::ordered_json stack_to_json(const CreationStack& stack) {
  using json = nlohmann::ordered_json;
  json frames = json::array();
  for (const StackFrame& f : stack.frames) {
    json j;
    j["address"] = fmt::format("{:#x}", f.address);
    if (f.symbol.empty()) {
      j["symbol"] = nullptr;
    } else {
      put_path(j, "symbol", f.symbol);  // the binary's own bytes: made valid UTF-8
      j["symbol_offset"] = f.symbol_offset;
    }
    if (f.module) {
      put_path(j, "module", f.module->path);
      j["build_id"] = f.module->build_id.empty() ? json(nullptr) : json(f.module->build_id);
      j["file_offset"] = fmt::format("{:#x}", f.file_offset);
    }
    frames.push_back(std::move(j));
  }
  json out{{"quality", stack_quality_name(stack.quality)}, {"frames", std::move(frames)}};
  if (!stack.unresolved.empty()) out["unresolved"] = stack.unresolved;
  return out;
}

const std::string& stack_json_text(const std::shared_ptr<const CreationStack>& stack) {
  struct Entry {
    std::weak_ptr<const CreationStack> stack;  // expired: the address may be another stack's now
    std::string text;
  };
  thread_local std::unordered_map<const CreationStack*, Entry> cache;
  auto it = cache.find(stack.get());
  if (it != cache.end() && it->second.stack.lock() == stack) return it->second.text;
  if (cache.size() >= 4096) cache.clear();
  Entry& e = cache[stack.get()];
  e.stack = stack;
  e.text = stack_to_json(*stack).dump();
  return e.text;
}

std::string frame_label(const StackFrame& f) {
  if (!f.symbol.empty()) return fmt::format("{}+{:#x}", f.symbol, f.symbol_offset);
  if (f.module) {
    auto slash = f.module->path.rfind('/');
    return fmt::format("{}+{:#x}", f.module->path.substr(slash == std::string::npos ? 0 : slash + 1), f.file_offset);
  }
  return fmt::format("{:#x}", f.address);
}

nlohmann::ordered_json group_by_stack(const std::vector<std::pair<const CreationStack*, std::string>>& watches) {
  using json = nlohmann::ordered_json;
  struct Group {
    size_t count = 0;
    std::set<std::string> pods;
  };
  std::map<const CreationStack*, Group> groups;  // stacks are interned: one pointer per code path
  for (const auto& [stack, pod] : watches) {
    Group& g = groups[stack];
    g.count++;
    if (!pod.empty()) g.pods.insert(pod);
  }
  std::vector<std::pair<const CreationStack*, const Group*>> order;
  for (const auto& [stack, g] : groups) order.emplace_back(stack, &g);
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.second->count > b.second->count; });
  json out = json::array();
  for (const auto& [stack, g] : order) {
    json top = json::array();
    // Past the syscall wrappers: the program's own frames.
    for (size_t i = stack ? stack->first_caller_frame() : 0; stack && i < stack->frames.size() && top.size() < 5; i++) {
      json label;
      put_path(label, "f", frame_label(stack->frames[i]));
      top.push_back(label["f"]);
    }
    out.push_back({{"count", g->count},
                   {"pods", g->pods},
                   {"top_frames", std::move(top)},
                   {"stack", stack ? stack_to_json(*stack) : json(nullptr)}});
  }
  return out;
}

}  // namespace inotrace
