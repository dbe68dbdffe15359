#include "daemon/growth_forecast.h"

#include <cmath>
#include <limits>

namespace inotrace {

GrowthForecast::GrowthForecast(double window_s, double warmup_s) : window_s_(window_s), warmup_s_(warmup_s) {}

void GrowthForecast::add(uint64_t t_ns, double count) {
  if (!started_) {
    started_ = true;
    first_ns_ = last_ns_ = t_ns;
    last_count_ = count;
    return;
  }
  if (t_ns <= last_ns_) return;
  double dt = (t_ns - last_ns_) / 1e9;
  // The exact EWMA of a rate that was constant over the interval: its weight is the share of
  // the window that the interval covers, whatever the sampling cadence.
  double alpha = -std::expm1(-dt / window_s_);
  raw_rate_ += alpha * ((count - last_count_) / dt - raw_rate_);
  last_ns_ = t_ns;
  last_count_ = count;
}

Forecast GrowthForecast::forecast(double limit, std::optional<double> used) const {
  Forecast f;
  double elapsed = (last_ns_ - first_ns_) / 1e9;
  if (!started_ || elapsed < warmup_s_ || elapsed <= 0) return f;
  double rate = raw_rate_ / -std::expm1(-elapsed / window_s_);
  f.rate_per_s = rate;
  if (limit < 0) return f;
  double now = used.value_or(last_count_);
  if (now >= limit) {
    f.seconds_to_limit = 0;
  } else if (rate > 0) {
    f.seconds_to_limit = (limit - now) / rate;
  } else {
    f.seconds_to_limit = std::numeric_limits<double>::infinity();
  }
  return f;
}

}  // namespace inotrace
