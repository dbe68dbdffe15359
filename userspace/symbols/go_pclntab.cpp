#include "symbols/go_pclntab.h"

namespace inotrace::symbols {

namespace {

constexpr uint32_t kMagicGo12 = 0xfffffffb;
constexpr uint32_t kMagicGo116 = 0xfffffffa;
constexpr uint32_t kMagicGo118 = 0xfffffff0;
constexpr uint32_t kMagicGo120 = 0xfffffff1;  // same layout as 1.18 for what is read here
constexpr uint64_t kHeaderSize = 8;           // magic, two zero pads, pc quantum, pointer size

bool known_magic(uint32_t magic) {
  return magic == kMagicGo12 || magic == kMagicGo116 || magic == kMagicGo118 || magic == kMagicGo120;
}

}  // namespace

bool GoPclntab::has_header_at(ByteView bytes, uint64_t offset) {
  auto magic = bytes.u32(offset);
  if (!magic || !known_magic(*magic)) return false;
  auto quantum = bytes.u8(offset + 6);
  return bytes.u8(offset + 4) == 0 && bytes.u8(offset + 5) == 0 && bytes.u8(offset + 7) == 8 &&
         (quantum == 1 || quantum == 2 || quantum == 4);
}

std::optional<GoPclntab> GoPclntab::parse(std::vector<uint8_t> section, uint64_t text_section_addr,
                                          std::string* error) {
  GoPclntab t;
  t.bytes_ = std::move(section);
  ByteView b = t.bytes();
  auto fail = [&](const char* why) -> std::optional<GoPclntab> {
    if (error) *error = why;
    return std::nullopt;
  };
  auto magic = b.u32(0);
  if (!magic || b.size() < kHeaderSize) return fail("gopclntab: too short");
  if (!known_magic(*magic)) return fail("gopclntab: unknown magic");
  if (!has_header_at(b, 0)) return fail("gopclntab: bad header");  // 8-byte pointers only: ELF64
  auto header_word = [&](uint64_t i) { return b.word(kHeaderSize + i * t.ptr_size_, t.ptr_size_); };
  std::optional<uint64_t> nfunc, funcnametab, functab, text_start = 0;
  if (*magic == kMagicGo118 || *magic == kMagicGo120) {
    t.layout_ = Layout::kGo118;
    t.field_size_ = 4;
    nfunc = header_word(0), text_start = header_word(2), funcnametab = header_word(3), functab = header_word(7);
    t.funcdata_ = functab.value_or(0);
  } else if (*magic == kMagicGo116) {
    t.layout_ = Layout::kGo116;
    t.field_size_ = t.ptr_size_;
    nfunc = header_word(0), funcnametab = header_word(2), functab = header_word(6);
    t.funcdata_ = functab.value_or(0);
  } else if (*magic == kMagicGo12) {
    t.layout_ = Layout::kGo12;
    t.field_size_ = t.ptr_size_;
    nfunc = header_word(0), funcnametab = 0, functab = kHeaderSize + t.ptr_size_;
    t.funcdata_ = 0;
  } else {
    return fail("gopclntab: unknown magic");
  }
  if (!nfunc || !funcnametab || !functab || !text_start) return fail("gopclntab: header cut short");
  // nfunc + 1 pairs must fit: this bounds nfunc by the section size before any use of it.
  uint64_t pair = 2ull * t.field_size_;
  if (*functab > b.size() || *nfunc >= (b.size() - *functab) / pair)
    return fail("gopclntab: function table past its end");
  if (*funcnametab >= b.size()) return fail("gopclntab: name table past its end");
  t.nfunc_ = *nfunc, t.functab_ = *functab, t.funcnametab_ = *funcnametab;
  t.text_start_ = *text_start != 0 ? *text_start : text_section_addr;
  return t;
}

// The i-th function's entry PC (i == nfunc_ is the end of the last function).
std::optional<uint64_t> GoPclntab::entry_pc(uint64_t index) const {
  auto v = bytes().word(functab_ + index * 2 * field_size_, field_size_);
  if (!v) return std::nullopt;
  return layout_ == Layout::kGo118 ? text_start_ + *v : *v;  // 1.18+: offsets from textStart
}

std::optional<std::string> GoPclntab::function_name(uint64_t index) const {
  ByteView b = bytes();
  auto funcoff = b.word(functab_ + (index * 2 + 1) * field_size_, field_size_);
  if (!funcoff || *funcoff > UINT64_MAX - funcdata_) return std::nullopt;
  // A _func starts with its entry (uint32 from 1.18, else a pointer), then int32 nameoff.
  uint64_t entry_size = layout_ == Layout::kGo118 ? 4 : ptr_size_;
  uint64_t func = funcdata_ + *funcoff;
  if (func > UINT64_MAX - entry_size) return std::nullopt;
  auto nameoff = b.u32(func + entry_size);
  if (!nameoff || *nameoff > UINT64_MAX - funcnametab_) return std::nullopt;
  auto name = b.cstring(funcnametab_ + *nameoff, kMaxNameLength);
  if (!name || name->empty()) return std::nullopt;
  return std::string(*name);
}

// Binary search over the entries (sorted in an honest file; in a hostile one the answer may be
// wrong but the search still ends, and the range check below keeps it from being absurd).
std::optional<FoundSymbol> GoPclntab::find(uint64_t pc) const {
  uint64_t lo = 0, hi = nfunc_;  // invariant: the answer, if any, is in [lo, hi)
  while (lo < hi) {
    uint64_t mid = lo + (hi - lo) / 2;
    auto start = entry_pc(mid);
    if (!start) return std::nullopt;
    if (*start <= pc) lo = mid + 1; else hi = mid;
  }
  if (lo == 0) return std::nullopt;
  uint64_t index = lo - 1;
  auto start = entry_pc(index), end = entry_pc(index + 1);
  if (!start || !end || pc < *start || pc >= *end) return std::nullopt;
  auto name = function_name(index);
  if (!name) return std::nullopt;
  return FoundSymbol{std::move(*name), pc - *start};
}

}  // namespace inotrace::symbols
