// How fast a count grows and when it will reach its limit: the time left before a user's
// inotify watches (or instances) run out, from samples (time, count) taken on each evaluation.
//
// The rate is an exponentially weighted moving average of the growth between samples, with
// time constant `window_s` (a sample `window_s` old weighs 1/e of a new one), bias-corrected
// as in Adam: the average starts at 0 and is divided by the weight accumulated so far
// (1 - e^(-elapsed/window)), so a steady growth gives its exact rate from the first samples on
// instead of creeping up over several windows. Drops (freed watches) count as negative growth:
// after one, the forecast is +Inf until growth has outweighed it again.
#pragma once

#include <cstdint>
#include <optional>

namespace inotrace {

struct Forecast {
  std::optional<double> rate_per_s;  // nullopt: less than the warm-up of history
  // nullopt: unknown (warming up, or no limit known); +Inf: not growing; 0: at or over the limit.
  std::optional<double> seconds_to_limit;
};

class GrowthForecast {
 public:
  static constexpr double kDefaultWindowS = 600;
  static constexpr double kDefaultWarmupS = 30;

  explicit GrowthForecast(double window_s = kDefaultWindowS, double warmup_s = kDefaultWarmupS);

  // A sample at monotonic time `t_ns`. Samples not after the previous one are ignored.
  void add(uint64_t t_ns, double count);
  // The rate, and the time until the count reaches `limit` (< 0: unknown limit) at that rate.
  // `used`: what the limit is compared with, when it differs from the last sample (the kernel's
  // own counter, which a leaked decrement leaves above the count present).
  Forecast forecast(double limit, std::optional<double> used = std::nullopt) const;

 private:
  double window_s_, warmup_s_;
  bool started_ = false;
  uint64_t first_ns_ = 0, last_ns_ = 0;
  double last_count_ = 0;
  double raw_rate_ = 0;  // the uncorrected average (starts at 0)
};

}  // namespace inotrace
