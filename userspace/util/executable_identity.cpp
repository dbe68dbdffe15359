#include "util/executable_identity.h"

#include <elf.h>
#include <fmt/format.h>
#include <link.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace inotrace {

namespace {

struct Segment {
  uintptr_t begin, end;
};

struct MainImage {
  uintptr_t base = 0;
  std::vector<Segment> read_only;  // loaded segments without write permission: fixed at link time
  std::string build_id;            // hex
};

// The GNU build id note among the notes in [p, end), hex; empty when there is none. Sizes in
// size_t: a note's 32-bit sizes rounded up must not wrap.
std::string build_id_in(const char* p, const char* end) {
  auto round4 = [](uint32_t n) { return ((size_t)n + 3) & ~size_t{3}; };
  while ((size_t)(end - p) >= sizeof(ElfW(Nhdr))) {
    ElfW(Nhdr) n;
    std::memcpy(&n, p, sizeof n);
    size_t left = end - p - sizeof n;
    if (round4(n.n_namesz) > left || round4(n.n_descsz) > left - round4(n.n_namesz)) return {};
    const char* name = p + sizeof n;
    const char* desc = name + round4(n.n_namesz);
    const char* next = desc + round4(n.n_descsz);
    if (n.n_type == NT_GNU_BUILD_ID && n.n_namesz == 4 && n.n_descsz <= 64 && std::memcmp(name, "GNU", 4) == 0) {
      std::string hex;
      for (uint32_t i = 0; i < n.n_descsz; i++) hex += fmt::format("{:02x}", (unsigned char)desc[i]);
      return hex;
    }
    p = next;
  }
  return {};
}

MainImage read_main_image() {
  MainImage image;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        auto* img = static_cast<MainImage*>(data);
        img->base = info->dlpi_addr;  // the first object listed is the executable
        for (int i = 0; i < info->dlpi_phnum; i++) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          uintptr_t at = info->dlpi_addr + ph.p_vaddr;
          if (ph.p_type == PT_LOAD && !(ph.p_flags & PF_W)) {
            img->read_only.push_back({at, at + ph.p_memsz});
          } else if (ph.p_type == PT_NOTE && img->build_id.empty()) {
            img->build_id = build_id_in(reinterpret_cast<const char*>(at), reinterpret_cast<const char*>(at + ph.p_memsz));
          }
        }
        return 1;  // only the executable
      },
      &image);
  return image;
}

}  // namespace

std::optional<std::string> executable_bytes_identity(const void* bytes, size_t size) {
  static const MainImage image = read_main_image();
  auto at = reinterpret_cast<uintptr_t>(bytes);
  if (image.build_id.empty()) return std::nullopt;
  for (const Segment& s : image.read_only)
    if (at >= s.begin && at < s.end && size <= s.end - at)
      return fmt::format("{}-{:x}-{}", image.build_id, at - image.base, size);
  return std::nullopt;  // not in the executable's read-only image: its bytes may differ run to run
}

}  // namespace inotrace
