// Go's function table (.gopclntab): names the function containing a PC even in a Go binary
// stripped with -ldflags='-s -w' (the runtime needs the table for tracebacks, so it stays).
// Layouts per Go's debug/gosym and runtime/symtab.go: 1.2-1.15, 1.16-1.17, 1.18-1.19, 1.20+.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "symbols/elf_symbols.h"

namespace inotrace::symbols {

class GoPclntab {
 public:
  static constexpr size_t kMaxNameLength = 16 * 1024;

  // `section`: the whole .gopclntab. `text_section_addr`: where .text starts, the base of 1.18+
  // entry offsets when the header's own textStart is 0 (unrelocated in a PIE).
  // nullopt and *error when the header is not one of the known layouts or points outside.
  static std::optional<GoPclntab> parse(std::vector<uint8_t> section, uint64_t text_section_addr,
                                        std::string* error);

  // A cheap test for the 8-byte header (a known magic, zero pads, a pc quantum, 8-byte
  // pointers) at `offset`, to find a table that has no section of its own.
  static bool has_header_at(ByteView bytes, uint64_t offset);

  std::optional<FoundSymbol> find(uint64_t pc) const;
  uint64_t function_count() const { return nfunc_; }
  std::optional<uint64_t> first_entry() const { return nfunc_ ? entry_pc(0) : std::nullopt; }

 private:
  enum class Layout { kGo12, kGo116, kGo118 };
  ByteView bytes() const { return ByteView(bytes_.data(), bytes_.size()); }
  std::optional<uint64_t> entry_pc(uint64_t index) const;
  std::optional<std::string> function_name(uint64_t index) const;

  std::vector<uint8_t> bytes_;
  Layout layout_ = Layout::kGo118;
  unsigned ptr_size_ = 8;
  uint64_t nfunc_ = 0;
  uint64_t text_start_ = 0;
  uint64_t functab_ = 0;      // offset of the (entry, funcoff) pairs; nfunc_ + 1 entries
  unsigned field_size_ = 4;   // of each pair member: 4 from 1.18, else ptr_size_
  uint64_t funcdata_ = 0;     // base of funcoff
  uint64_t funcnametab_ = 0;  // base of a _func's nameoff
};

}  // namespace inotrace::symbols
