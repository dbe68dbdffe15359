// Tombstones: each instance's removals, appended in arrival order and searched by wd.
#include "table/tombstones.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

namespace inotrace {
namespace {

TEST(Tombstones, FindsEveryRemovalWhateverOrderTheyArrivedIn) {
  Tombstones t;
  t.note(0xa, 5, 50);
  t.note(0xa, 3, 51);  // below the last: out of wd order
  t.note(0xa, 9, 52);
  t.note(0xa, 5, 53);  // noted again: the latest wins
  t.note(0xb, 3, 60);
  t.note(0xa, 0, 70);  // the instance closed
  EXPECT_EQ(t.find(0xa, 5), 53u);
  EXPECT_EQ(t.find(0xa, 3), 51u);
  EXPECT_EQ(t.find(0xa, 9), 52u);
  EXPECT_EQ(t.find(0xb, 3), 60u);
  EXPECT_EQ(t.find(0xa, 0), 70u);
  EXPECT_EQ(t.find(0xa, 4), std::nullopt);
  EXPECT_EQ(t.find(0xa, 10), std::nullopt);  // above every wd
  EXPECT_EQ(t.find(0xb, 0), std::nullopt);
  EXPECT_EQ(t.find(0xc, 3), std::nullopt);
  t.erase(0xa, 5);
  EXPECT_EQ(t.find(0xa, 5), std::nullopt);
  EXPECT_EQ(t.find(0xa, 9), 52u);
  t.forget_before(60, true);  // 0xa's removals go, its close and 0xb's removal stay
  EXPECT_EQ(t.find(0xa, 9), std::nullopt);
  EXPECT_EQ(t.find(0xa, 0), 70u);
  EXPECT_EQ(t.find(0xb, 3), 60u);
  t.forget_before(100, true);
  EXPECT_EQ(t.find(0xb, 3), std::nullopt);
  EXPECT_EQ(t.find(0xa, 0), std::nullopt);
}

// Against a map keyed by (group, wd), as the table kept them before.
TEST(Tombstones, MatchesAMapUnderRandomNotesErasesAndForgets) {
  std::mt19937 rng(7);
  Tombstones t;
  std::map<std::pair<uint64_t, int32_t>, uint64_t> ref;
  uint64_t now = 1;
  for (int step = 0; step < 20000; step++) {
    uint64_t g = 1 + rng() % 4;
    int32_t wd = static_cast<int32_t>(rng() % 40) - 2;  // 0: a close; below: never sent, still kept
    int op = static_cast<int>(rng() % 10);
    if (op < 6) {
      // Mostly forward, sometimes back: another CPU's removal, noted later with an earlier time.
      uint64_t ts = rng() % 8 ? (now += rng() % 3) : now - std::min<uint64_t>(now - 1, rng() % 10);
      t.note(g, wd, ts), ref[{g, wd}] = ts;
    } else if (op < 8) {
      t.erase(g, wd), ref.erase({g, wd});
    } else if (op == 8 && rng() % 50 == 0) {
      uint64_t cut = now - rng() % 20;
      t.forget_before(cut, rng() % 2);
      std::erase_if(ref, [cut](const auto& kv) { return kv.second < cut; });
    } else {
      auto it = ref.find({g, wd});
      ASSERT_EQ(t.find(g, wd), it == ref.end() ? std::nullopt : std::optional<uint64_t>(it->second)) << step;
    }
  }
  for (const auto& [k, v] : ref) EXPECT_EQ(t.find(k.first, k.second), v);
}

// A new instance at a freed group's address re-adds the wds the old one removed: each add takes
// its tombstone back. Erasing shifted the vector once (quadratic: minutes at this size).
TEST(Tombstones, TakingBackEveryRemovalOfALargeInstanceStaysFast) {
  Tombstones t;
  constexpr int32_t kWatches = 200000;
  for (int32_t wd = 1; wd <= kWatches; wd++) t.note(0xa, wd, 10);
  for (int32_t wd = 1; wd <= kWatches; wd++) {
    ASSERT_EQ(t.find(0xa, wd), 10u);
    t.erase(0xa, wd);
  }
  EXPECT_EQ(t.find(0xa, 1), std::nullopt);
  EXPECT_EQ(t.find(0xa, kWatches), std::nullopt);
  t.forget_before(5, true);  // nothing is older, but the erased entries go
  EXPECT_LT(t.memory_bytes(), 4096u);
}

// Removals in falling wd order (a tree removed bottom-up), each followed by a lookup: sorting on
// lookup made every pair cost a sort of all of them.
TEST(Tombstones, OutOfOrderRemovalsWithLookupsStayFast) {
  Tombstones t;
  constexpr int32_t kWatches = 200000;
  t.note(0xa, kWatches + 1, 1);
  for (int32_t wd = kWatches; wd >= 1; wd--) {
    t.note(0xa, wd, 2);
    ASSERT_EQ(t.find(0xa, wd), 2u);
    ASSERT_EQ(t.find(0xa, wd + 1), wd == kWatches ? 1u : 2u);
  }
  t.note(0xa, 7, 3);  // again, later: the latest wins
  EXPECT_EQ(t.find(0xa, 7), 3u);
  t.forget_before(3, true);
  EXPECT_EQ(t.find(0xa, 7), 3u);
  EXPECT_EQ(t.find(0xa, 8), std::nullopt);
  EXPECT_EQ(t.find(0xa, kWatches + 1), std::nullopt);
}

}  // namespace
}  // namespace inotrace
