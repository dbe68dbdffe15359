// One watch as a JSON row, with the same keys in `inotrace snapshot --json` (its "watches") and
// the daemon's /api/watches (docs/JSON.md): who holds it, what it is, where it points. Written as
// text directly, byte for byte what a nlohmann document of these keys dumps (a unit test holds
// them equal): these lists run to a million rows, and a document per row was most of their cost.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "events/event.h"
#include "events/workload.h"

namespace inotrace {

struct WatchJsonHolder {
  uint32_t pid = 0;
  std::string_view comm;
  uint32_t uid = 0;
  int32_t fd = 0;
  const Workload* workload = nullptr;  // its pod and container, if known
};

struct WatchJsonFields {
  int32_t wd = 0;
  uint64_t ino = 0;
  KernelDev dev;
  uint32_t mask = 0;
  std::string_view path;  // "" = unknown (null)
  PathSource path_source = PathSource::None;
  bool path_truncated = false;
  std::string_view path_note;  // "" = none (key left out)
};

class WatchRowWriter {
 public:
  // The holder (nullptr: none known, its fields null) and instance of the watches appended next.
  // What they share is rendered here, once per instance rather than once per watch.
  void set_instance(const WatchJsonHolder* holder, std::string_view instance);
  // Appends one watch of that instance as an object, {...}.
  void append(std::string& out, const WatchJsonFields& w);

 private:
  const std::string& mask_json(uint32_t mask);

  std::string head_;  // "pid":..,"comm":..,"uid":..,"instance":..,"fd":..[,workload]
  std::unordered_map<uint32_t, std::string> masks_;  // a mask's names as a JSON array
  std::string uncached_mask_;
};

}  // namespace inotrace
