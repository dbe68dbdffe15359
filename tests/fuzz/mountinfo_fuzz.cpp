// /proc/PID/mountinfo: mount points and sources are names any user can choose (a directory
// named "a b\n- x", a FUSE source), escaped by the kernel.
// Two properties per input: the raw bytes parse without crashing within the warning cap, and a
// line built from fuzzed fields exactly as the kernel prints it (fs/proc_namespace.c:
// show_mountinfo, escaping " \t\n\\" as \ooo) parses back to those fields.
#include <fuzzer/FuzzedDataProvider.h>

#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "paths/mountinfo.h"

using namespace inotrace;

namespace {

// The kernel's mangle(): seq_escape(m, s, " \t\n\\").
std::string kernel_escape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\\') {
      out += '\\';
      out += char('0' + (c >> 6));
      out += char('0' + ((c >> 3) & 7));
      out += char('0' + (c & 7));
    } else {
      out += char(c);
    }
  }
  return out;
}

std::string no_nul(std::string s) {
  for (char& c : s)
    if (c == '\0') c = '@';
  return s;
}

std::string token(FuzzedDataProvider& in, size_t max) {  // option-like: [a-z0-9,=:]
  static constexpr std::string_view kChars = "abcdefghijklmnopqrstuvwxyz0123456789,=:_";
  std::string s = in.ConsumeRandomLengthString(max);
  for (char& c : s) c = kChars[(unsigned char)c % kChars.size()];
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  MountinfoParse raw = parse_mountinfo(text);
  FUZZ_CHECK(raw.warnings.size() <= kMountinfoMaxWarnings + 1);
  for (const auto& m : raw.mounts) FUZZ_CHECK(m.mount_id >= 0 && m.parent_id >= 0 && !m.fstype.empty());
  FUZZ_CHECK(unescape_mountinfo(text).size() <= text.size());

  FuzzedDataProvider in(data, size);
  MountEntry want;
  want.mount_id = in.ConsumeIntegralInRange<int>(0, 1 << 30);
  want.parent_id = in.ConsumeIntegralInRange<int>(0, 1 << 30);
  want.dev.raw = in.ConsumeIntegralInRange<uint32_t>(0, (1u << 12) - 1) << 20 | in.ConsumeIntegralInRange<uint32_t>(0, (1u << 20) - 1);
  want.root = "/" + no_nul(in.ConsumeRandomLengthString(64));
  want.mount_point = "/" + no_nul(in.ConsumeRandomLengthString(64));
  want.mount_options = in.ConsumeBool() ? "rw" : "ro";
  want.mount_options += token(in, 16);
  if (in.ConsumeBool()) want.optional_fields.push_back("shared:" + std::to_string(in.ConsumeIntegral<uint16_t>()));
  if (in.ConsumeBool()) want.optional_fields.push_back("master:" + std::to_string(in.ConsumeIntegral<uint16_t>()));
  want.fstype = no_nul(in.ConsumeRandomLengthString(16));
  if (want.fstype.empty()) want.fstype = "tmpfs";
  want.source = no_nul(in.ConsumeRandomLengthString(32));
  want.super_options = "rw" + token(in, 32);

  std::string line = std::to_string(want.mount_id) + " " + std::to_string(want.parent_id) + " " + want.dev.str() +
                     " " + kernel_escape(want.root) + " " + kernel_escape(want.mount_point) + " " + want.mount_options;
  for (const auto& o : want.optional_fields) line += " " + o;
  line += " - " + kernel_escape(want.fstype) + " " + kernel_escape(want.source) + " " + want.super_options + "\n";
  MountinfoParse got = parse_mountinfo(line);
  if (got.mounts.size() != 1 || !got.warnings.empty()) {
    std::fprintf(stderr, "line: %s", line.c_str());
    for (const auto& w : got.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  }
  FUZZ_CHECK(got.mounts.size() == 1 && got.warnings.empty());
  const MountEntry& m = got.mounts[0];
  FUZZ_CHECK(m.mount_id == want.mount_id && m.parent_id == want.parent_id && m.dev == want.dev);
  FUZZ_CHECK(m.root == want.root);
  FUZZ_CHECK(m.mount_point == want.mount_point);
  FUZZ_CHECK(m.mount_options == want.mount_options && m.optional_fields == want.optional_fields);
  FUZZ_CHECK(m.fstype == want.fstype);
  FUZZ_CHECK(m.source == want.source);
  FUZZ_CHECK(m.super_options == want.super_options);
  return 0;
}
