#include "util/rate_limited_count.h"

#include <gtest/gtest.h>

namespace inotrace {
namespace {

constexpr uint64_t kSec = 1'000'000'000;

TEST(RateLimitedCount, NothingPendingNothingDue) {
  RateLimitedCount r;
  EXPECT_FALSE(r.due(5 * kSec));
}

TEST(RateLimitedCount, FirstBatchIsReportedAtOnce) {
  RateLimitedCount r;
  r.add(25);
  auto rep = r.due(10 * kSec);
  ASSERT_TRUE(rep);
  EXPECT_EQ(rep->count, 25u);
  EXPECT_EQ(rep->batches, 1u);
  EXPECT_FALSE(r.due(10 * kSec));
}

// 300 batches in 3 s (one every 10 ms, the rate seen in a burst) give at most 4 reports, and
// together they carry every count.
TEST(RateLimitedCount, BurstBecomesOneReportPerSecondCarryingAllCounts) {
  RateLimitedCount r;
  uint64_t reports = 0, reported = 0, added = 0, batches = 0;
  uint64_t t = 100 * kSec;
  for (int i = 0; i < 300; i++, t += kSec / 100) {
    r.add(i + 1);
    added += i + 1;
    if (auto rep = r.due(t)) {
      reports++;
      reported += rep->count;
      batches += rep->batches;
    }
  }
  EXPECT_LE(reports, 4u);
  EXPECT_GE(reports, 3u);
  // The rest comes out once the interval has passed, with no new batch needed.
  auto rest = r.due(t + kSec);
  ASSERT_TRUE(rest);
  reported += rest->count;
  batches += rest->batches;
  EXPECT_EQ(reported, added);
  EXPECT_EQ(batches, 300u);
}

TEST(RateLimitedCount, ReportSaysSinceWhen) {
  RateLimitedCount r(kSec);
  r.add(1);
  ASSERT_TRUE(r.due(7 * kSec));
  r.add(2);
  EXPECT_FALSE(r.due(7 * kSec + kSec / 2));
  auto rep = r.due(8 * kSec);
  ASSERT_TRUE(rep);
  EXPECT_EQ(rep->since_ns, 7 * kSec);
  EXPECT_EQ(rep->count, 2u);
}

}  // namespace
}  // namespace inotrace
