// /proc/kallsyms text: the symbols inotrace attaches to and identifies inotify objects by.
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "loader/kallsyms.h"

using namespace inotrace;

namespace {

// True if a line of `text` is "<hex addr> t|T <name>..." with exactly `addr` in plain hex digits:
// a symbol's address is read from its own line, never guessed from a malformed one.
bool has_line(const std::string& text, const KernelSymbol& s) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    size_t sp = line.find(' ');
    if (sp == 0 || sp == std::string::npos) continue;
    if (line.find_first_not_of("0123456789abcdefABCDEF") != sp) continue;
    uint64_t v = 0;  // leading zeros allowed: the value is still exact
    bool overflow = false;
    for (size_t i = 0; i < sp; i++) {
      overflow |= v >> 60;
      v = v << 4 | std::stoull(line.substr(i, 1), nullptr, 16);
    }
    if (overflow || v != s.addr) continue;
    std::string rest = line.substr(sp);
    if (rest.starts_with(" t " + s.name) || rest.starts_with(" T " + s.name)) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<std::string> wanted = {"inotify_freeing_mark", "fsnotify_add_mark_locked",
                                                  "inotify_update_watch", "inotify_fsnotify_ops", "x"};
  std::string text(reinterpret_cast<const char*>(data), size);
  Kallsyms ks = Kallsyms::parse(text, wanted);
  for (const auto& w : wanted) {
    auto s = ks.entry(w);
    if (!s) continue;
    FUZZ_CHECK(s->name.substr(0, s->name.find('.')) == w);  // the symbol or a clone of it
    FUZZ_CHECK(s->name == w || s->name.find(".cold") == std::string::npos);
    FUZZ_CHECK(has_line(text, *s));
  }
  return 0;
}
