#include "symbols/elf_image.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include <fmt/format.h>

namespace inotrace::symbols {

namespace {

// Caps on what one table may cost in memory; honest binaries stay far below.
constexpr uint64_t kMaxHeaderTable = 4 << 20;     // section or program headers
constexpr uint64_t kMaxSectionNames = 1 << 20;    // .shstrtab
constexpr uint64_t kMaxNoteBytes = 64 << 10;      // one note section or segment
constexpr size_t kMaxNoteRegions = 64;
constexpr uint64_t kMaxSymbolBytes = SymbolTable::kMaxSymbols * sizeof(Elf64_Sym);
constexpr uint64_t kMaxStringTable = 256 << 20;
constexpr uint64_t kMaxPclntab = 512 << 20;
constexpr size_t kMaxGoBuildIdLength = 256;
constexpr uint32_t kGoBuildIdNote = 4;  // type of Go's "Go\0\0" build id note (cmd/link)

bool fail(std::string* error, std::string why) {
  if (error) *error = std::move(why);
  return false;
}

std::string hex(ByteView bytes) {
  std::string out;
  for (size_t i = 0; i < bytes.size(); i++) out += fmt::format("{:02x}", *bytes.u8(i));
  return out;
}

bool printable(std::string_view s) {
  for (char c : s)
    if (c < 0x21 || c > 0x7e) return false;
  return !s.empty();
}

struct BuildIds {
  std::string gnu, go;
};

// One note region (a PT_NOTE segment or SHT_NOTE section): records each entry's 12-byte
// header, name and descriptor, both padded to the region's alignment (4, or 8 when it says so).
void scan_notes(ByteView notes, uint64_t align, BuildIds* ids) {
  uint64_t pad = align == 8 ? 8 : 4;
  auto padded = [pad](uint64_t n) { return (n + pad - 1) / pad * pad; };
  uint64_t off = 0;
  while (notes.has(off, 12)) {  // each pass advances by at least 12 bytes
    uint32_t namesz = *notes.u32(off), descsz = *notes.u32(off + 4), type = *notes.u32(off + 8);
    uint64_t name_at = off + 12, desc_at = name_at + padded(namesz);
    if (!notes.has(name_at, namesz) || !notes.has(desc_at, descsz)) return;
    std::string_view name(reinterpret_cast<const char*>(notes.tail(name_at).data()), namesz);
    ByteView desc = notes.tail(desc_at).prefix(descsz);
    if (name == std::string_view("GNU\0", 4) && type == NT_GNU_BUILD_ID && ids->gnu.empty() &&
        descsz > 0 && descsz <= 64)
      ids->gnu = hex(desc);
    if (name == std::string_view("Go\0\0", 4) && type == kGoBuildIdNote && ids->go.empty()) {
      std::string_view id(reinterpret_cast<const char*>(desc.data()), desc.size());
      if (id.size() <= kMaxGoBuildIdLength && printable(id)) ids->go = id;
    }
    off = desc_at + padded(descsz);
  }
}

}  // namespace

std::string_view source_name(SymbolSource source) {
  switch (source) {
    case SymbolSource::kSymtab: return "symtab";
    case SymbolSource::kDynsym: return "dynsym";
    case SymbolSource::kGopclntab: return "gopclntab";
    case SymbolSource::kNone: break;
  }
  return "none";
}

std::unique_ptr<ElfImage> ElfImage::open(int fd, std::string* error) {
  auto refuse = [error](std::string why) -> std::unique_ptr<ElfImage> {
    fail(error, std::move(why));
    return nullptr;
  };
  struct stat st;
  if (fstat(fd, &st) != 0) return refuse(fmt::format("fstat: {}", std::strerror(errno)));
  if (!S_ISREG(st.st_mode)) return refuse("not a regular file");
  if (st.st_size < static_cast<off_t>(sizeof(Elf64_Ehdr))) return refuse("too short for an ELF64 header");
  if (static_cast<uint64_t>(st.st_size) > kMaxFileSize) return refuse("larger than 2 GiB");
  std::unique_ptr<ElfImage> image(new ElfImage());
  image->fd_.reset(fcntl(fd, F_DUPFD_CLOEXEC, 0));
  if (!image->fd_) return refuse(fmt::format("dup: {}", std::strerror(errno)));
  image->file_size_ = static_cast<uint64_t>(st.st_size);
  if (!image->read_headers(error)) return nullptr;
  image->read_build_id();
  return image;
}

// `size` bytes at `offset`, all inside the file and at most `cap`; nullopt otherwise or when the
// file shrank under us (a short read).
std::optional<std::vector<uint8_t>> ElfImage::read(uint64_t offset, uint64_t size, uint64_t cap) const {
  if (size > cap || offset > file_size_ || size > file_size_ - offset) return std::nullopt;
  std::vector<uint8_t> out(size);
  uint64_t done = 0;
  while (done < size) {
    ssize_t n = pread(fd_.get(), out.data() + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    done += static_cast<uint64_t>(n);
  }
  return out;
}

bool ElfImage::read_headers(std::string* error) {
  auto bytes = read(0, sizeof(Elf64_Ehdr), sizeof(Elf64_Ehdr));
  if (!bytes) return fail(error, "cannot read the ELF header");
  Elf64_Ehdr eh;
  std::memcpy(&eh, bytes->data(), sizeof eh);
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) return fail(error, "not an ELF file");
  if (eh.e_ident[EI_CLASS] != ELFCLASS64) return fail(error, "not ELF64");
  if (eh.e_ident[EI_DATA] != ELFDATA2LSB) return fail(error, "not little-endian");
  if (eh.e_ident[EI_VERSION] != EV_CURRENT) return fail(error, "unknown ELF version");
  if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) return fail(error, "not an executable or shared object");
  if (eh.e_machine != EM_X86_64 && eh.e_machine != EM_AARCH64) return fail(error, "not x86-64 or aarch64");
  if (eh.e_phnum != 0 && eh.e_phentsize != sizeof(Elf64_Phdr)) return fail(error, "bad program header size");
  if (eh.e_shnum != 0 && eh.e_shentsize != sizeof(Elf64_Shdr)) return fail(error, "bad section header size");
  if (eh.e_phnum == PN_XNUM) return fail(error, "extended program header count not supported");
  return read_segments(eh.e_phoff, eh.e_phnum, error) &&
         read_sections(eh.e_shoff, eh.e_shnum, eh.e_shstrndx, error);
}

bool ElfImage::read_segments(uint64_t phoff, uint16_t phnum, std::string* error) {
  auto table = read(phoff, uint64_t{phnum} * sizeof(Elf64_Phdr), kMaxHeaderTable);
  if (!table) return fail(error, "program headers outside the file");
  for (uint16_t i = 0; i < phnum; i++) {
    Elf64_Phdr ph;
    std::memcpy(&ph, table->data() + uint64_t{i} * sizeof ph, sizeof ph);
    if (ph.p_type != PT_LOAD && ph.p_type != PT_NOTE) continue;
    // Only the part really in the file: a segment claiming bytes past the end maps none of them.
    if (ph.p_offset > file_size_ || ph.p_filesz > file_size_ - ph.p_offset) continue;
    // Nor one wrapping past the top of the address space: its file offsets would map to addresses
    // below it, which map back to no offset (fuzz_elf found one at vaddr 0xffffffffffffffff).
    if (ph.p_type == PT_LOAD && ph.p_vaddr > UINT64_MAX - ph.p_filesz) continue;
    segments_.push_back({ph.p_type, ph.p_flags, ph.p_offset, ph.p_vaddr, ph.p_filesz, ph.p_align});
  }
  return true;
}

// Extended section numbering (e_shnum 0, count in section 0) is read as "no sections".
bool ElfImage::read_sections(uint64_t shoff, uint16_t shnum, uint16_t shstrndx, std::string* error) {
  if (shnum == 0) return true;
  auto table = read(shoff, uint64_t{shnum} * sizeof(Elf64_Shdr), kMaxHeaderTable);
  if (!table) return fail(error, "section headers outside the file");
  std::vector<Elf64_Shdr> headers(shnum);
  std::memcpy(headers.data(), table->data(), table->size());
  std::vector<uint8_t> names;
  if (shstrndx < shnum && headers[shstrndx].sh_type == SHT_STRTAB)
    names = read(headers[shstrndx].sh_offset, headers[shstrndx].sh_size, kMaxSectionNames).value_or(names);
  ByteView name_view(names.data(), names.size());
  for (const Elf64_Shdr& sh : headers) {
    auto name = name_view.cstring(sh.sh_name, 255);
    sections_.push_back({std::string(name.value_or("")), sh.sh_type, sh.sh_flags, sh.sh_addr,
                         sh.sh_offset, sh.sh_size, sh.sh_addralign, sh.sh_link});
  }
  return true;
}

void ElfImage::read_build_id() {
  BuildIds ids;
  size_t regions = 0;
  auto scan = [&](uint64_t offset, uint64_t size, uint64_t align) {
    if (regions++ >= kMaxNoteRegions) return;
    auto bytes = read(offset, std::min(size, kMaxNoteBytes), kMaxNoteBytes);
    if (bytes) scan_notes(ByteView(bytes->data(), bytes->size()), align, &ids);
  };
  for (const Segment& seg : segments_)
    if (seg.type == PT_NOTE) scan(seg.offset, seg.filesz, seg.align);
  for (const Section& sec : sections_)
    if (sec.type == SHT_NOTE) scan(sec.offset, sec.size, sec.align);
  build_id_ = !ids.gnu.empty() ? ids.gnu : ids.go;
  go_build_id_ = !ids.go.empty();
}

std::optional<uint64_t> ElfImage::vaddr_of_file_offset(uint64_t offset) const {
  for (const Segment& seg : segments_) {
    if (seg.type != PT_LOAD || offset < seg.offset || offset - seg.offset >= seg.filesz) continue;
    return seg.vaddr + (offset - seg.offset);  // no wrap: such segments are dropped at open
  }
  return std::nullopt;
}

std::optional<uint64_t> ElfImage::file_offset_of_vaddr(uint64_t vaddr) const {
  for (const Segment& seg : segments_) {
    if (seg.type != PT_LOAD || vaddr < seg.vaddr || vaddr - seg.vaddr >= seg.filesz) continue;
    return seg.offset + (vaddr - seg.vaddr);
  }
  return std::nullopt;
}

const ElfImage::Section* ElfImage::section_named(std::string_view name) const {
  for (const Section& sec : sections_)
    if (sec.name == name && sec.type != SHT_NOBITS) return &sec;
  return nullptr;
}

// SHT_SYMTAB or SHT_DYNSYM with the string table it links to; empty when either is unreadable.
SymbolTable ElfImage::load_symbol_table(uint32_t type) const {
  for (const Section& sec : sections_) {
    if (sec.type != type || sec.link >= sections_.size()) continue;
    const Section& strtab = sections_[sec.link];
    if (strtab.type != SHT_STRTAB) continue;
    auto entries = read(sec.offset, sec.size, kMaxSymbolBytes);
    auto strings = read(strtab.offset, strtab.size, kMaxStringTable);
    if (!entries || !strings) continue;
    std::vector<AddressRange> ranges;
    ranges.reserve(sections_.size());
    for (const Section& s : sections_)
      ranges.push_back({s.addr, s.addr + s.size < s.addr ? UINT64_MAX : s.addr + s.size});
    return SymbolTable::parse(ByteView(entries->data(), entries->size()), std::move(*strings), ranges);
  }
  return {};
}

bool ElfImage::is_executable(uint64_t vaddr) const {
  for (const Segment& seg : segments_)
    if (seg.type == PT_LOAD && (seg.flags & PF_X) && vaddr >= seg.vaddr && vaddr - seg.vaddr < seg.filesz)
      return true;
  return false;
}

// Go's table: its own section (Go's linker), else, when an external linker merged it into
// read-only data (lld does: runtime.pclntab inside .data.rel.ro), a header found by scanning,
// accepted only if its first function starts in executable code. Only Go binaries (a Go build
// id note or .go.buildinfo) are scanned: a large C program's .rodata is not read for nothing.
std::optional<GoPclntab> ElfImage::load_pclntab() const {
  const Section* text = section_named(".text");
  uint64_t text_addr = text ? text->addr : 0;
  if (const Section* sec = section_named(".gopclntab")) {
    auto bytes = read(sec->offset, sec->size, kMaxPclntab);
    if (!bytes) return std::nullopt;
    return GoPclntab::parse(std::move(*bytes), text_addr, nullptr);
  }
  if (!go_build_id_ && !section_named(".go.buildinfo")) return std::nullopt;
  for (const char* name : {".data.rel.ro", ".rodata"})
    if (const Section* sec = section_named(name))
      if (auto table = find_pclntab_in(*sec)) return table;
  return std::nullopt;
}

std::optional<GoPclntab> ElfImage::find_pclntab_in(const Section& section) const {
  constexpr int kMaxCandidates = 16;  // each costs a copy of the rest of the section
  auto bytes = read(section.offset, section.size, kMaxPclntab);
  if (!bytes) return std::nullopt;
  ByteView view(bytes->data(), bytes->size());
  const Section* text = section_named(".text");
  int tried = 0;
  for (uint64_t off = 0; off + 8 <= view.size() && tried < kMaxCandidates; off += 8) {  // pcHeader is 8-aligned
    if (!GoPclntab::has_header_at(view, off)) continue;
    tried++;
    std::vector<uint8_t> rest(bytes->begin() + static_cast<ptrdiff_t>(off), bytes->end());
    auto table = GoPclntab::parse(std::move(rest), text ? text->addr : 0, nullptr);
    auto first = table ? table->first_entry() : std::nullopt;
    if (first && is_executable(*first)) return table;
  }
  return std::nullopt;
}

const ElfImage::Tables& ElfImage::tables() const {
  std::call_once(tables_once_, [this] {
    auto t = std::make_unique<Tables>();
    t->symtab = load_symbol_table(SHT_SYMTAB);
    t->dynsym = load_symbol_table(SHT_DYNSYM);
    t->pclntab = load_pclntab();
    tables_ = std::move(t);
  });
  return *tables_;
}

// A sized symbol is exact; a sizeless one's end is a guess, so in a Go binary (a cgo export in
// .dynsym, say) the Go table's answer wins over it.
std::optional<Symbol> ElfImage::symbolize(uint64_t vaddr) const {
  const Tables& t = tables();
  std::optional<Symbol> guessed;
  for (auto [table, source] : {std::pair{&t.symtab, SymbolSource::kSymtab}, {&t.dynsym, SymbolSource::kDynsym}}) {
    auto s = table->find(vaddr);
    if (s && s->sized) return Symbol{std::move(s->name), s->offset, source};
    if (s && !guessed) guessed = Symbol{std::move(s->name), s->offset, source};
  }
  if (t.pclntab)
    if (auto s = t.pclntab->find(vaddr)) return Symbol{std::move(s->name), s->offset, SymbolSource::kGopclntab};
  return guessed;
}

// Go's table before .dynsym: in a stripped cgo binary .dynsym names only the C exports.
SymbolSource ElfImage::best_source() const {
  const Tables& t = tables();
  if (!t.symtab.empty()) return SymbolSource::kSymtab;
  if (t.pclntab) return SymbolSource::kGopclntab;
  if (!t.dynsym.empty()) return SymbolSource::kDynsym;
  return SymbolSource::kNone;
}

}  // namespace inotrace::symbols
