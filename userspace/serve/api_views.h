// The daemon's JSON API documents (schema: docs/API.md), built from a NodeMonitor.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "daemon/node_monitor.h"
#include "output/watch_json.h"

namespace inotrace {

// /api/watches is paginated: watches in (instance, wd) order, `limit` per page, each page
// naming the cursor of the next.
constexpr size_t kDefaultWatchPage = 1000;
constexpr size_t kMaxWatchPage = 10000;

struct WatchQuery {
  std::optional<uint32_t> pid;
  std::optional<std::string> comm;
  size_t limit = kDefaultWatchPage;
  std::string cursor;  // "" = from the start; else a page's "next"
};

// One page of /api/watches, written piece by piece so that its text never exists whole: the
// first call picks the page's keys (at most `limit` of them, a bounded heap, no copy of the
// table), every call writes the next few watches. Call with the monitor locked; the table may
// change between calls (a watch removed meanwhile is left out). Throws inotrace::Error on a
// malformed cursor, when constructed.
class WatchPageWriter {
 public:
  explicit WatchPageWriter(WatchQuery q);
  // Appends the next piece to `out`; false once the page is complete.
  bool next(const NodeMonitor& m, std::string& out);

 private:
  using Key = std::tuple<std::string, int32_t, uint64_t>;  // instance id, wd, group
  void pick_keys(const NodeMonitor& m, std::string& out);
  WatchQuery q_;
  std::optional<std::pair<std::string, int32_t>> after_;
  std::vector<Key> keys_;
  size_t pos_ = 0, returned_ = 0;
  bool started_ = false, more_ = false;
  WatchRowWriter rows_;
};

nlohmann::ordered_json leaks_json(const NodeMonitor& m);
nlohmann::ordered_json users_json(const NodeMonitor& m);
nlohmann::ordered_json processes_json(const NodeMonitor& m, size_t limit);
nlohmann::ordered_json status_json(const NodeMonitor& m);
nlohmann::ordered_json pods_json(const NodeMonitor& m);
// The last `limit` events (0 = all kept), written one at a time (no document of 10,000 events).
void write_events_json(const NodeMonitor& m, size_t limit, std::string& out);

}  // namespace inotrace
