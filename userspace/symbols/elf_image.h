// One ELF64 little-endian file (x86-64 or aarch64) whose user-space stack frames are named.
// The file is attacker-controlled (any process's binary): everything read from it is
// bounds-checked, read with pread (never mmap: a file truncated under a mapping would SIGBUS us),
// and every allocation is capped; bad input gives an error or an empty answer, never UB.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "symbols/elf_symbols.h"
#include "symbols/go_pclntab.h"
#include "util/unique_fd.h"

namespace inotrace::symbols {

// Which table named a frame (`symbol_source` in the output).
enum class SymbolSource { kNone, kSymtab, kDynsym, kGopclntab };
std::string_view source_name(SymbolSource source);  // "none", "symtab", "dynsym", "gopclntab"

struct Symbol {
  std::string name;     // raw, not demangled
  uint64_t offset = 0;  // address - symbol start
  SymbolSource source = SymbolSource::kNone;
  bool operator==(const Symbol&) const = default;
};

class ElfImage {
 public:
  static constexpr uint64_t kMaxFileSize = 2ull << 30;

  // nullptr and *error for anything but a sane regular ELF64 LE x86-64/aarch64 executable or
  // shared object. The fd is duplicated (tables are read lazily); the caller keeps its own.
  static std::unique_ptr<ElfImage> open(int fd, std::string* error);

  // Lowercase hex of NT_GNU_BUILD_ID, else Go's build id string ("Go" note), else "".
  const std::string& build_id() const { return build_id_; }
  // File offset -> virtual address through the PT_LOAD segment holding it.
  std::optional<uint64_t> vaddr_of_file_offset(uint64_t offset) const;
  // The inverse, for callers that hold link-time addresses (and for tests).
  std::optional<uint64_t> file_offset_of_vaddr(uint64_t vaddr) const;
  // The function containing `vaddr`: .symtab, else .dynsym, else Go's .gopclntab (which also
  // beats a sizeless symbol whose end is only guessed). Tables are read on the first call and
  // kept; safe to call from several threads.
  std::optional<Symbol> symbolize(uint64_t vaddr) const;
  // The table most frames come from: symtab, else gopclntab, else dynsym, else none.
  SymbolSource best_source() const;

 private:
  struct Section {
    std::string name;
    uint32_t type = 0;
    uint64_t flags = 0, addr = 0, offset = 0, size = 0, align = 0;
    uint32_t link = 0;
  };
  struct Segment {
    uint32_t type = 0, flags = 0;
    uint64_t offset = 0, vaddr = 0, filesz = 0, align = 0;
  };
  struct Tables {
    SymbolTable symtab, dynsym;
    std::optional<GoPclntab> pclntab;
  };

  ElfImage() = default;
  bool read_headers(std::string* error);
  bool read_sections(uint64_t shoff, uint16_t shnum, uint16_t shstrndx, std::string* error);
  bool read_segments(uint64_t phoff, uint16_t phnum, std::string* error);
  void read_build_id();
  std::optional<std::vector<uint8_t>> read(uint64_t offset, uint64_t size, uint64_t cap) const;
  const Section* section_named(std::string_view name) const;
  SymbolTable load_symbol_table(uint32_t type) const;
  std::optional<GoPclntab> load_pclntab() const;
  std::optional<GoPclntab> find_pclntab_in(const Section& section) const;
  bool is_executable(uint64_t vaddr) const;
  const Tables& tables() const;

  UniqueFd fd_;
  uint64_t file_size_ = 0;
  std::vector<Section> sections_;
  std::vector<Segment> segments_;
  std::string build_id_;
  bool go_build_id_ = false;  // a "Go" note: only then is read-only data scanned for Go's table
  mutable std::once_flag tables_once_;
  mutable std::unique_ptr<Tables> tables_;
};

}  // namespace inotrace::symbols
