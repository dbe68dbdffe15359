#include "util/wall_clock.h"

#include <fmt/format.h>

#include <ctime>

namespace inotrace {

namespace {
int64_t now_ns(clockid_t clk) {
  timespec ts{};
  clock_gettime(clk, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
}  // namespace

WallClock::WallClock() {
  // Bracket the realtime read between two monotonic reads to halve the sampling error.
  int64_t m0 = now_ns(CLOCK_MONOTONIC);
  int64_t r = now_ns(CLOCK_REALTIME);
  int64_t m1 = now_ns(CLOCK_MONOTONIC);
  offset_ns_ = r - (m0 + (m1 - m0) / 2);
}

uint64_t WallClock::monotonic_now_ns() { return now_ns(CLOCK_MONOTONIC); }

std::string format_rfc3339_utc(int64_t realtime_ns) {
  time_t sec = realtime_ns / 1000000000;
  int64_t nsec = realtime_ns % 1000000000;
  if (nsec < 0) nsec += 1000000000, sec -= 1;
  tm t{};
  gmtime_r(&sec, &t);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", t.tm_year + 1900, t.tm_mon + 1,
                     t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, nsec);
}

std::string WallClock::rfc3339(uint64_t mono_ns) const {
  return format_rfc3339_utc(to_realtime_ns(mono_ns));
}

std::string WallClock::time_of_day(uint64_t mono_ns) const {
  int64_t rt = to_realtime_ns(mono_ns);
  time_t sec = rt / 1000000000;
  tm t{};
  localtime_r(&sec, &t);
  return fmt::format("{:02}:{:02}:{:02}.{:06}", t.tm_hour, t.tm_min, t.tm_sec, (rt % 1000000000) / 1000);
}

}  // namespace inotrace
