// Bounds-checked little-endian reads from untrusted bytes (an ELF file is attacker-controlled):
// every read checks its whole range first, offsets never wrap, nothing is read past the end.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

namespace inotrace::symbols {

static_assert(std::endian::native == std::endian::little, "ELF64 LE files are read in place");

class ByteView {
 public:
  ByteView() = default;
  ByteView(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // [off, off + n) lies inside, written so that neither sum can overflow.
  bool has(uint64_t off, uint64_t n) const { return off <= size_ && n <= size_ - off; }

  std::optional<uint8_t> u8(uint64_t off) const { return read<uint8_t>(off); }
  std::optional<uint16_t> u16(uint64_t off) const { return read<uint16_t>(off); }
  std::optional<uint32_t> u32(uint64_t off) const { return read<uint32_t>(off); }
  std::optional<uint64_t> u64(uint64_t off) const { return read<uint64_t>(off); }
  // A 4- or 8-byte unsigned field (Go's uintptr-sized words).
  std::optional<uint64_t> word(uint64_t off, unsigned width) const {
    if (width == 4) return u32(off);
    if (width == 8) return u64(off);
    return std::nullopt;
  }
  // The bytes from `off` to the end; empty when `off` is past the end.
  ByteView tail(uint64_t off) const {
    return off <= size_ ? ByteView(data_ + off, size_ - off) : ByteView();
  }
  // The first `n` bytes (all of them when fewer).
  ByteView prefix(uint64_t n) const { return ByteView(data_, n < size_ ? n : size_); }
  const uint8_t* data() const { return data_; }
  // The NUL-terminated string at `off`; nullopt unless its NUL comes within `max_len` bytes.
  std::optional<std::string_view> cstring(uint64_t off, size_t max_len) const {
    if (off >= size_) return std::nullopt;
    size_t limit = size_ - off < max_len + 1 ? size_ - off : max_len + 1;
    const void* nul = std::memchr(data_ + off, 0, limit);
    if (!nul) return std::nullopt;
    return std::string_view(reinterpret_cast<const char*>(data_ + off),
                            static_cast<const uint8_t*>(nul) - (data_ + off));
  }

 private:
  template <typename T>
  std::optional<T> read(uint64_t off) const {
    if (!has(off, sizeof(T))) return std::nullopt;
    T v;
    std::memcpy(&v, data_ + off, sizeof(T));  // unaligned-safe; little-endian hosts only (x86-64, aarch64)
    return v;
  }

  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace inotrace::symbols
