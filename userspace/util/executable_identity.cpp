#include "util/executable_identity.h"

#include <elf.h>
#include <fmt/format.h>
#include <link.h>

#include <cstdint>
#include <cstring>

namespace inotrace {

namespace {

struct MainImage {
  uintptr_t base = 0, begin = UINTPTR_MAX, end = 0;
  std::string build_id;  // hex
};

// The GNU build id note among the notes in [p, end), hex; empty when there is none.
std::string build_id_in(const char* p, const char* end) {
  while (p + sizeof(ElfW(Nhdr)) <= end) {
    ElfW(Nhdr) n;
    std::memcpy(&n, p, sizeof n);
    const char* name = p + sizeof n;
    const char* desc = name + ((n.n_namesz + 3) & ~3u);
    const char* next = desc + ((n.n_descsz + 3) & ~3u);
    if (next > end || next <= p) return {};
    if (n.n_type == NT_GNU_BUILD_ID && n.n_namesz == 4 && std::memcmp(name, "GNU", 4) == 0) {
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
          if (ph.p_type == PT_LOAD) {
            img->begin = std::min(img->begin, at);
            img->end = std::max(img->end, at + ph.p_memsz);
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
  if (image.build_id.empty() || at < image.begin || at > image.end || size > image.end - at) return std::nullopt;
  return fmt::format("{}-{:x}-{}", image.build_id, at - image.base, size);
}

}  // namespace inotrace
