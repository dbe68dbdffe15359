// Event timestamps are CLOCK_MONOTONIC (bpf_ktime_get_ns); users want wall-clock time.
#pragma once

#include <cstdint>
#include <string>

#include "util/short_text.h"

namespace inotrace {

class WallClock {
 public:
  WallClock();  // samples the realtime - monotonic offset and the local UTC offset now
  explicit WallClock(int64_t offset_ns, int64_t utc_offset_s = 0) : offset_ns_(offset_ns), utc_offset_s_(utc_offset_s) {}
  int64_t to_realtime_ns(uint64_t mono_ns) const { return (int64_t)mono_ns + offset_ns_; }
  // "2026-11-27T03:16:06.123456789Z"
  std::string rfc3339(uint64_t mono_ns) const;
  ShortText rfc3339_text(uint64_t mono_ns) const;  // the same, without a heap string
  // "03:16:06.123456" (local time of day, microseconds) for text columns. The UTC offset is
  // the one at construction (a DST change during a session is not followed): per-event
  // localtime_r was most of the text output's cost.
  std::string time_of_day(uint64_t mono_ns) const;
  static uint64_t monotonic_now_ns();
  // The same clock at the kernel tick's resolution (1-4 ms), without reading the clock source:
  // for per-event expiry checks, where a full read cost a few percent of an event's time.
  static uint64_t coarse_monotonic_now_ns();

 private:
  int64_t offset_ns_;
  int64_t utc_offset_s_ = 0;
};

std::string format_rfc3339_utc(int64_t realtime_ns);
ShortText rfc3339_utc_text(int64_t realtime_ns);

}  // namespace inotrace
