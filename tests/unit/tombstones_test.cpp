// Tombstones: each instance's removals, appended in arrival order and searched by wd.
#include "table/tombstones.h"

#include <gtest/gtest.h>

#include <random>
#include <map>

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
  EXPECT_EQ(t.size(), 2u);
  t.forget_before(100, true);
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.find(0xb, 3), std::nullopt);
}

// Against a map keyed by (group, wd), as the table kept them before.
TEST(Tombstones, MatchesAMapUnderRandomNotesErasesAndForgets) {
  std::mt19937 rng(7);
  Tombstones t;
  std::map<std::pair<uint64_t, int32_t>, uint64_t> ref;
  uint64_t now = 1;
  for (int step = 0; step < 20000; step++) {
    uint64_t g = 1 + rng() % 4;
    int32_t wd = static_cast<int32_t>(rng() % 40);
    int op = static_cast<int>(rng() % 10);
    if (op < 6) {
      now += rng() % 3;  // not strictly increasing: another CPU's removal
      t.note(g, wd, now), ref[{g, wd}] = now;
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

}  // namespace
}  // namespace inotrace
