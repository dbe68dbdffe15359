// A short string held in place (no heap): for per-event fields longer than std::string's
// 15-byte inline buffer (a 30-byte timestamp, a 16-digit instance id), whose allocation and
// free were a measurable share of a `trace --json` line.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace inotrace {

struct ShortText {
  static constexpr size_t kCapacity = 46;
  char data[kCapacity];
  unsigned char size = 0;

  std::string_view view() const { return {data, size}; }
  operator std::string_view() const { return view(); }
  std::string str() const { return std::string(view()); }
};

}  // namespace inotrace
