#include "symbols/elf_symbols.h"

#include <elf.h>

#include <algorithm>

namespace inotrace::symbols {

namespace {

bool is_function(uint8_t info) {
  uint8_t type = ELF64_ST_TYPE(info);
  return type == STT_FUNC || type == STT_GNU_IFUNC;
}

// Among symbols at the same address: a sized one over a sizeless one, a global over a local.
bool better_alias(uint64_t size_a, uint8_t bind_a, uint64_t size_b, uint8_t bind_b) {
  if ((size_a != 0) != (size_b != 0)) return size_a != 0;
  return bind_a == STB_GLOBAL && bind_b != STB_GLOBAL;
}

}  // namespace

SymbolTable SymbolTable::parse(ByteView entries, std::vector<uint8_t> string_bytes,
                               std::span<const AddressRange> sections) {
  SymbolTable table;
  table.strings_ = std::move(string_bytes);
  ByteView strings(table.strings_.data(), table.strings_.size());
  uint64_t count = entries.size() / sizeof(Elf64_Sym);
  if (count > kMaxSymbols) return table;
  std::vector<uint8_t> binds;  // parallel to functions_, only while parsing
  for (uint64_t i = 0; i < count; i++) {
    uint64_t at = i * sizeof(Elf64_Sym);
    auto name_off = entries.u32(at + offsetof(Elf64_Sym, st_name));
    auto info = entries.u8(at + offsetof(Elf64_Sym, st_info));
    auto shndx = entries.u16(at + offsetof(Elf64_Sym, st_shndx));
    auto value = entries.u64(at + offsetof(Elf64_Sym, st_value));
    auto size = entries.u64(at + offsetof(Elf64_Sym, st_size));
    if (!name_off || !info || !shndx || !value || !size) break;
    if (!is_function(*info) || *shndx == SHN_UNDEF || *shndx >= SHN_LORESERVE || *value == 0) continue;
    auto name = strings.cstring(*name_off, kMaxNameLength);
    if (!name || name->empty()) continue;
    uint64_t section_end = *shndx < sections.size() ? sections[*shndx].end : 0;
    if (section_end <= *value) section_end = *value;  // a symbol outside its section: sized only
    uint64_t end = *size == 0 ? 0 : (*value + *size < *value ? UINT64_MAX : *value + *size);
    table.functions_.push_back({*value, end, section_end, *size != 0, *name_off});
    binds.push_back(ELF64_ST_BIND(*info));
  }
  // Aliases: keep the best name per address (sort a permutation so `binds` stays in step).
  std::vector<size_t> order(table.functions_.size());
  for (size_t i = 0; i < order.size(); i++) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const auto &fa = table.functions_[a], &fb = table.functions_[b];
    if (fa.start != fb.start) return fa.start < fb.start;
    return better_alias(fa.end ? 1 : 0, binds[a], fb.end ? 1 : 0, binds[b]);
  });
  std::vector<Function> sorted;
  sorted.reserve(order.size());
  for (size_t i : order) {
    if (!sorted.empty() && sorted.back().start == table.functions_[i].start) continue;
    sorted.push_back(table.functions_[i]);
  }
  table.functions_ = std::move(sorted);
  table.close_sizeless_ranges();
  return table;
}

// A sizeless function ends where the next one starts, or at its section's end.
void SymbolTable::close_sizeless_ranges() {
  for (size_t i = 0; i < functions_.size(); i++) {
    Function& f = functions_[i];
    if (f.end != 0) continue;
    uint64_t next = i + 1 < functions_.size() ? functions_[i + 1].start : UINT64_MAX;
    f.end = std::min(next, f.section_end);
  }
}

std::optional<FoundSymbol> SymbolTable::find(uint64_t address) const {
  auto it = std::upper_bound(functions_.begin(), functions_.end(), address,
                             [](uint64_t a, const Function& f) { return a < f.start; });
  if (it == functions_.begin()) return std::nullopt;
  --it;
  if (address >= it->end) return std::nullopt;
  auto name = ByteView(strings_.data(), strings_.size()).cstring(it->name_offset, kMaxNameLength);
  return FoundSymbol{std::string(name.value_or("")), address - it->start, it->sized};
}

}  // namespace inotrace::symbols
