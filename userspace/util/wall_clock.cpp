#include "util/wall_clock.h"

#include <climits>
#include <cstring>
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
  time_t now = r / 1000000000;
  tm local{};
  localtime_r(&now, &local);
  utc_offset_s_ = local.tm_gmtoff;
}

uint64_t WallClock::monotonic_now_ns() { return now_ns(CLOCK_MONOTONIC); }
uint64_t WallClock::coarse_monotonic_now_ns() { return now_ns(CLOCK_MONOTONIC_COARSE); }

namespace {
// Days since 1970-01-01 -> (year, month, day): H. Hinnant's civil_from_days, exact for the
// proleptic Gregorian calendar, and far cheaper than gmtime_r per event.
void civil_from_days(int64_t z, int& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = (unsigned)(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t yy = (int64_t)yoe + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = (int)(yy + (m <= 2));
}

// Writes v as n decimal digits ending at *last. Timestamps are formatted by hand: once per
// event of `trace`, where fmt's format-string parser cost 2.5k-4.5k instructions.
void put_digits(char* last, int64_t v, int n) {
  for (int i = 0; i < n; i++, v /= 10) last[-i] = (char)('0' + v % 10);
}
}  // namespace

ShortText rfc3339_utc_text(int64_t realtime_ns) {
  int64_t sec = realtime_ns / 1000000000;
  int64_t nsec = realtime_ns % 1000000000;
  if (nsec < 0) nsec += 1000000000, sec -= 1;
  // A stream's timestamps share their second: the date and time of day are formatted once
  // per second, the nanoseconds per event.
  static constexpr char kPattern[] = "0000-00-00T00:00:00.000000000Z";
  thread_local int64_t last_sec = INT64_MIN;
  thread_local char prefix[20];  // "YYYY-MM-DDTHH:MM:SS."
  if (sec != last_sec) {
    int64_t days = sec / 86400, rem = sec % 86400;
    if (rem < 0) rem += 86400, days -= 1;
    int y;
    unsigned m, d;
    civil_from_days(days, y, m, d);
    // Always four digits: an int64 of nanoseconds spans the years 1677 to 2262.
    std::memcpy(prefix, kPattern, sizeof prefix);
    put_digits(prefix + 3, y, 4), put_digits(prefix + 6, m, 2), put_digits(prefix + 9, d, 2);
    put_digits(prefix + 12, rem / 3600, 2), put_digits(prefix + 15, rem / 60 % 60, 2);
    put_digits(prefix + 18, rem % 60, 2);
    last_sec = sec;
  }
  ShortText t;
  char* b = t.data;
  std::memcpy(b, prefix, sizeof prefix);
  std::memcpy(b + sizeof prefix, kPattern + sizeof prefix, sizeof kPattern - 1 - sizeof prefix);
  put_digits(b + 28, nsec, 9);
  t.size = sizeof kPattern - 1;
  return t;
}

std::string format_rfc3339_utc(int64_t realtime_ns) { return rfc3339_utc_text(realtime_ns).str(); }

std::string WallClock::rfc3339(uint64_t mono_ns) const { return rfc3339_text(mono_ns).str(); }

ShortText WallClock::rfc3339_text(uint64_t mono_ns) const { return rfc3339_utc_text(to_realtime_ns(mono_ns)); }

std::string WallClock::time_of_day(uint64_t mono_ns) const {
  int64_t rt_us = to_realtime_ns(mono_ns) / 1000;
  if (rt_us * 1000 > to_realtime_ns(mono_ns)) rt_us -= 1;  // rounded down before 1970 too
  int64_t sec = rt_us / 1000000, us = rt_us % 1000000;
  if (us < 0) us += 1000000, sec -= 1;
  // Formatted once per second and clock (a stream's events share their second), the
  // microseconds per event.
  thread_local int64_t last_sec = INT64_MIN, last_offset = INT64_MIN;
  thread_local char hms[9];  // "HH:MM:SS."
  if (sec != last_sec || utc_offset_s_ != last_offset) {
    int64_t s = (sec + utc_offset_s_) % 86400;
    if (s < 0) s += 86400;
    std::memcpy(hms, "00:00:00.", sizeof hms);
    put_digits(hms + 1, s / 3600, 2), put_digits(hms + 4, s / 60 % 60, 2), put_digits(hms + 7, s % 60, 2);
    last_sec = sec, last_offset = utc_offset_s_;
  }
  char b[15];
  std::memcpy(b, hms, sizeof hms);
  put_digits(b + 14, us, 6);
  return std::string(b, sizeof b);
}

}  // namespace inotrace
