// Coalesces a burst of counted incidents into at most one report per interval, each carrying
// what accumulated since the previous report: a ring-buffer loss comes in hundreds of batches a
// second, and one stderr line per batch buried everything else.
#pragma once

#include <cstdint>
#include <optional>

namespace inotrace {

class RateLimitedCount {
 public:
  struct Report {
    uint64_t count = 0;    // summed since the previous report
    uint64_t batches = 0;  // add() calls since the previous report
    uint64_t since_ns = 0; // time of the previous report (0 for the first)
  };

  explicit RateLimitedCount(uint64_t interval_ns = 1'000'000'000) : interval_ns_(interval_ns) {}

  void add(uint64_t n) {
    count_ += n;
    batches_++;
  }

  // The report to make at now_ns (a monotonic clock), if something is pending and the last
  // report is at least one interval old. The first report is due at once.
  std::optional<Report> due(uint64_t now_ns) {
    if (!batches_ || (reported_ && now_ns - last_ns_ < interval_ns_)) return std::nullopt;
    Report r{count_, batches_, reported_ ? last_ns_ : 0};
    count_ = batches_ = 0;
    last_ns_ = now_ns;
    reported_ = true;
    return r;
  }

 private:
  uint64_t interval_ns_;
  uint64_t count_ = 0, batches_ = 0, last_ns_ = 0;
  bool reported_ = false;
};

}  // namespace inotrace
