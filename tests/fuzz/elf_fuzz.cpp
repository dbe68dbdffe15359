// An ELF64 file from anyone: the binary of a traced process, named frame by frame
// (userspace/symbols). Fed through a memfd, as ElfImage only reads from a file descriptor.
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "fuzz_check.h"
#include "symbols/elf_image.h"

using namespace inotrace::symbols;

namespace {

bool lowercase_hex(const std::string& s) {
  return s.find_first_not_of("0123456789abcdef") == std::string::npos && s.size() % 2 == 0;
}

bool printable_ascii(const std::string& s) {
  for (char c : s)
    if (c < 0x21 || c > 0x7e) return false;
  return true;
}

void check_symbol(const ElfImage& image, uint64_t vaddr) {
  auto s = image.symbolize(vaddr);
  if (!s) return;
  FUZZ_CHECK(!s->name.empty() && s->name.size() <= 16 * 1024);
  FUZZ_CHECK(s->name.find('\0') == std::string::npos);
  FUZZ_CHECK(s->offset <= vaddr);  // the function starts at or before the address
  FUZZ_CHECK(s->source != SymbolSource::kNone);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static int fd = memfd_create("elf_fuzz", MFD_CLOEXEC);
  if (fd < 0 || ftruncate(fd, 0) != 0) return 0;
  if (size && pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) return 0;
  std::string error;
  auto image = ElfImage::open(fd, &error);
  if (!image) {
    FUZZ_CHECK(!error.empty());
    return 0;
  }
  const std::string& id = image->build_id();
  FUZZ_CHECK(id.empty() || (lowercase_hex(id) && id.size() <= 128) || (printable_ascii(id) && id.size() <= 256));
  for (uint64_t off : {uint64_t{0}, uint64_t{size / 2}, uint64_t{size ? size - 1 : 0}, uint64_t{0x1040}}) {
    auto vaddr = image->vaddr_of_file_offset(off);
    if (!vaddr) continue;
    auto back = image->file_offset_of_vaddr(*vaddr);
    FUZZ_CHECK(back && *back < size);
    check_symbol(*image, *vaddr);
    check_symbol(*image, *vaddr + 5);
  }
  // Addresses taken from the input itself reach the tables' edges as well.
  for (size_t at = 24; at + 8 <= size && at < 24 + 8 * 4; at += 8) {
    uint64_t v;
    std::memcpy(&v, data + at, 8);
    check_symbol(*image, v);
  }
  check_symbol(*image, 0x401000);
  (void)image->best_source();
  return 0;
}
