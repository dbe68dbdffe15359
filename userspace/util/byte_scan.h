// Eight bytes at a time: the classic SWAR tests (has-zero-byte, has-less-than) for the scans
// that run per event over names and paths (text and JSON escaping, UTF-8 checks). Each says
// whether any byte of a word matches, exactly; which byte is not asked.
#pragma once

#include <cstdint>
#include <cstring>

namespace inotrace::byte_scan {

constexpr uint64_t kOnes = 0x0101010101010101ull;
constexpr uint64_t kHighs = 0x8080808080808080ull;

inline uint64_t load8(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, sizeof w);
  return w;
}

// Nonzero when a byte of w is 0x80 or above.
inline uint64_t any_high(uint64_t w) { return w & kHighs; }
// Nonzero when a byte of w is below n (n <= 0x80).
inline uint64_t any_below(uint64_t w, unsigned char n) { return (w - kOnes * n) & ~w & kHighs; }
// Nonzero when a byte of w equals c.
inline uint64_t any_equal(uint64_t w, unsigned char c) { return any_below(w ^ (kOnes * c), 1); }

}  // namespace inotrace::byte_scan
