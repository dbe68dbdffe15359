// util/byte_scan.h against the byte-at-a-time answer: every byte value at every place of a
// word, among neighbours that do and do not match (a borrow from a matching byte must not
// hide or invent another).
#include "util/byte_scan.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>

namespace inotrace {
namespace {

using Word = std::array<unsigned char, 8>;

uint64_t word_of(const Word& b) {
  return byte_scan::load8(reinterpret_cast<const char*>(b.data()));
}

void expect_like_bytewise(const std::function<uint64_t(uint64_t)>& scan, const std::function<bool(unsigned char)>& byte,
                          const char* what) {
  // Neighbours: zero, the matching values' edges, high bytes.
  for (unsigned char fill : {0x00, 0x01, 0x1f, 0x20, 0x21, 0x22, 0x41, 0x5c, 0x7e, 0x7f, 0x80, 0xff}) {
    for (int at = 0; at < 8; at++)
      for (int v = 0; v < 256; v++) {
        Word b;
        b.fill(fill);
        b[at] = (unsigned char)v;
        bool want = false;
        for (unsigned char c : b) want |= byte(c);
        ASSERT_EQ(scan(word_of(b)) != 0, want) << what << ": byte " << v << " at " << at << " among " << (int)fill;
      }
  }
}

TEST(ByteScan, AnyHighIsABytewiseTopBitTest) {
  expect_like_bytewise([](uint64_t w) { return byte_scan::any_high(w); }, [](unsigned char c) { return c >= 0x80; }, "any_high");
}

TEST(ByteScan, AnyBelowIsABytewiseLessThan) {
  for (unsigned char n : {1, 0x20, 0x7f, 0x80})
    expect_like_bytewise([n](uint64_t w) { return byte_scan::any_below(w, n); }, [n](unsigned char c) { return c < n; },
                         "any_below");
}

TEST(ByteScan, AnyEqualIsABytewiseCompare) {
  for (int c0 : {0x00, (int)'"', (int)'\\', (int)'/', 0x7f, 0xff})
    expect_like_bytewise([c0](uint64_t w) { return byte_scan::any_equal(w, c0); }, [c0](unsigned char c) { return c == c0; },
                         "any_equal");
}

TEST(ByteScan, LoadReadsUnaligned) {
  const char text[] = "xabcdefgh";
  uint64_t want;
  std::memcpy(&want, text + 1, 8);
  EXPECT_EQ(byte_scan::load8(text + 1), want);
}

}  // namespace
}  // namespace inotrace
