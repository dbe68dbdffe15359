#include "daemon/growth_forecast.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

namespace inotrace {
namespace {

constexpr uint64_t kSec = 1'000'000'000;
constexpr uint64_t kStart = 5000 * kSec;  // monotonic clocks do not start at 0

// Samples of `count0 + rate * t` every `step_ms`, from `from_s` to `to_s` (seconds after kStart).
void feed_line(GrowthForecast& g, double count0, double rate, double from_s, double to_s, int step_ms = 500) {
  for (double t = from_s; t <= to_s + 1e-9; t += step_ms / 1000.0)
    g.add(kStart + (uint64_t)std::llround(t * kSec), count0 + rate * (t - from_s));
}

TEST(GrowthForecast, NoForecastBeforeTheWarmUp) {
  GrowthForecast g(600, 30);
  feed_line(g, 100, 20, 0, 29.5);
  Forecast f = g.forecast(8192);
  EXPECT_FALSE(f.rate_per_s);
  EXPECT_FALSE(f.seconds_to_limit);
}

TEST(GrowthForecast, NoSampleNoForecast) {
  GrowthForecast g;
  EXPECT_FALSE(g.forecast(100).rate_per_s);
}

// A steady leak of 20 watches/s: the rate is exact right after the warm-up (the bias correction),
// long before one window (600 s) has passed, and so is the time left.
TEST(GrowthForecast, SteadyGrowthGivesTheExactTimeToTheLimit) {
  GrowthForecast g(600, 30);
  feed_line(g, 1000, 20, 0, 40);  // ends at 1000 + 800 = 1800
  Forecast f = g.forecast(8192);
  ASSERT_TRUE(f.rate_per_s);
  EXPECT_NEAR(*f.rate_per_s, 20, 1e-6);
  ASSERT_TRUE(f.seconds_to_limit);
  EXPECT_NEAR(*f.seconds_to_limit, (8192 - 1800) / 20.0, 1e-3);
}

// Irregular sampling (evaluations also follow every snapshot) does not bias the rate.
TEST(GrowthForecast, IrregularSamplingStillGivesTheRate) {
  GrowthForecast g(60, 5);
  uint64_t t = kStart;
  double n = 0;
  for (int i = 0; i < 400; i++) {
    uint64_t dt = (uint64_t)((i % 7 + 1) * kSec / 10);  // 0.1 .. 0.7 s
    t += dt;
    n += 3.0 * dt / kSec;
    g.add(t, n);
  }
  EXPECT_NEAR(*g.forecast(-1).rate_per_s, 3, 1e-6);
}

TEST(GrowthForecast, FlatCountIsNeverExhausted) {
  GrowthForecast g(600, 30);
  feed_line(g, 5000, 0, 0, 120);
  Forecast f = g.forecast(8192);
  EXPECT_EQ(*f.rate_per_s, 0);
  ASSERT_TRUE(f.seconds_to_limit);
  EXPECT_TRUE(std::isinf(*f.seconds_to_limit) && *f.seconds_to_limit > 0);
}

TEST(GrowthForecast, UnknownLimitGivesTheRateOnly) {
  GrowthForecast g(600, 30);
  feed_line(g, 0, 2, 0, 60);
  Forecast f = g.forecast(-1);
  EXPECT_NEAR(*f.rate_per_s, 2, 1e-6);
  EXPECT_FALSE(f.seconds_to_limit);
}

TEST(GrowthForecast, AtOrOverTheLimitIsZeroSecondsLeft) {
  GrowthForecast g(600, 30);
  feed_line(g, 100, 1, 0, 60);  // 160 at the end
  EXPECT_EQ(*g.forecast(160).seconds_to_limit, 0);
  EXPECT_EQ(*g.forecast(150).seconds_to_limit, 0);
}

// The kernel's counter, when it is above the count present, is what meets the limit.
TEST(GrowthForecast, UsedCountOverridesTheLastSample) {
  GrowthForecast g(600, 30);
  feed_line(g, 0, 10, 0, 60);  // 600 present
  EXPECT_NEAR(*g.forecast(1600, 1100.0).seconds_to_limit, 50, 1e-6);
}

// A pod's watches freed at once: the drop makes the rate negative (+Inf: not growing), and a
// resumed steady growth brings the forecast back to the true rate within a few windows.
TEST(GrowthForecast, DropThenGrowthRecovers) {
  GrowthForecast g(60, 30);
  feed_line(g, 0, 10, 0, 120);  // 1200
  g.add(kStart + (uint64_t)(120.5 * kSec), 200);  // 1000 freed
  Forecast after_drop = g.forecast(10000);
  EXPECT_LT(*after_drop.rate_per_s, 0);
  EXPECT_TRUE(std::isinf(*after_drop.seconds_to_limit));
  feed_line(g, 200, 10, 121, 121 + 6 * 60);  // six windows of growth: e^-6 of the drop remains
  Forecast f = g.forecast(10000);
  EXPECT_NEAR(*f.rate_per_s, 10, 10 * 0.05);
  double count = 200 + 10 * 6 * 60;
  EXPECT_NEAR(*f.seconds_to_limit, (10000 - count) / 10, (10000 - count) / 10 * 0.06);
}

// The average forgets: a leak that stopped fades to a rate near 0 within a few windows.
TEST(GrowthForecast, StoppedGrowthFades) {
  GrowthForecast g(60, 30);
  feed_line(g, 0, 20, 0, 60);
  feed_line(g, 1200, 0, 60.5, 60.5 + 5 * 60);
  double rate = *g.forecast(-1).rate_per_s;
  EXPECT_GT(rate, 0);
  EXPECT_LT(rate, 20 * 0.02);
}

TEST(GrowthForecast, SamplesOutOfOrderAreIgnored) {
  GrowthForecast g(600, 30);
  feed_line(g, 0, 4, 0, 40);
  g.add(kStart + 10 * kSec, 1e9);  // earlier than the last sample
  g.add(kStart + 40 * kSec, 1e9);  // the same instant
  EXPECT_NEAR(*g.forecast(-1).rate_per_s, 4, 1e-6);
}

}  // namespace
}  // namespace inotrace
