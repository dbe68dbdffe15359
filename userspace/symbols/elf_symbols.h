// A function symbol table (.symtab or .dynsym) turned into address-sorted ranges, so that an
// address finds its function by one binary search.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "symbols/byte_view.h"

namespace inotrace::symbols {

// Where a section lies in memory: bounds a symbol without a size (it ends at the next symbol
// or at its section's end, whichever is first), so one sizeless symbol never swallows the rest.
struct AddressRange {
  uint64_t start = 0;
  uint64_t end = 0;  // exclusive
};

struct FoundSymbol {
  std::string name;
  uint64_t offset = 0;  // address - function start
  bool sized = true;    // false: a sizeless symbol's end was guessed (next symbol, section end)
};

class SymbolTable {
 public:
  // Beyond these a table is refused whole (an honest binary has far fewer).
  static constexpr uint64_t kMaxSymbols = 2'000'000;
  static constexpr size_t kMaxNameLength = 16 * 1024;

  // `entries`: the Elf64_Sym array; `strings`: its linked string table (kept: names stay offsets
  // into it, so many symbols sharing one long name cost no more memory); `sections`: the address
  // range of each section by index. Symbols with a bad name offset are left out.
  static SymbolTable parse(ByteView entries, std::vector<uint8_t> strings,
                           std::span<const AddressRange> sections);

  std::optional<FoundSymbol> find(uint64_t address) const;
  bool empty() const { return functions_.empty(); }
  size_t size() const { return functions_.size(); }

 private:
  struct Function {
    uint64_t start = 0;
    uint64_t end = 0;  // exclusive; 0 while still unknown (sizeless)
    uint64_t section_end = 0;
    bool sized = false;
    uint32_t name_offset = 0;  // into strings_, NUL-terminated within kMaxNameLength
  };
  void close_sizeless_ranges();

  std::vector<uint8_t> strings_;
  std::vector<Function> functions_;
};

}  // namespace inotrace::symbols
