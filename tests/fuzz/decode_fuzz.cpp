// Ring-buffer and iterator records (the BPF side writes them; a record that does not parse must
// be reported, never guessed at). A record that decodes is then printed the two ways users read
// it: its NDJSON line parses back with the escaping property of docs/JSON.md and equals the DOM's
// dump(); its text row is one printable line.
#include <cstring>
#include <string>

#include "events/decode.h"
#include "json_check.h"
#include "output/event_json.h"
#include "output/event_text.h"

using namespace inotrace;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  DecodeError err;
  auto ev = decode_event(data, size, &err);
  // The tracer decodes every record into one Event (loader/tracer.cpp): across the fuzzer's
  // inputs, nothing of an earlier record may survive into a later one.
  static Event reused;
  FUZZ_CHECK(decode_event_into(data, size, reused, nullptr) == ev.has_value());
  if (!ev) {
    FUZZ_CHECK(!err.message.empty());
  } else {
    FUZZ_CHECK(reused.path == ev->path && reused.cwd_fs_path == ev->cwd_fs_path && reused.user_stack == ev->user_stack);
    FUZZ_CHECK(event_to_json_line(reused, WallClock(0), "kprobe") == event_to_json_line(*ev, WallClock(0), "kprobe"));
    inotrace_hdr hdr;
    FUZZ_CHECK(size >= sizeof(hdr));
    std::memcpy(&hdr, data, sizeof(hdr));
    FUZZ_CHECK(hdr.size <= size);  // never read past what arrived
    WallClock clock(0);
    std::string line = event_to_json_line(*ev, clock, "kprobe");
    FUZZ_CHECK(line.find('\n') == std::string::npos);
    auto parsed = nlohmann::ordered_json::parse(line);
    FUZZ_CHECK(line == event_to_json(*ev, clock, "kprobe").dump());
    check_json_string(parsed, "comm", ev->task.comm);
    if (ev->is_watch_event()) check_json_string(parsed, "path", ev->path);
    std::string text = event_to_text(*ev, clock);
    FUZZ_CHECK(text.find('\n') == std::string::npos && is_valid_utf8(text));
  }

  auto inst = decode_snap_instance(data, size, &err);
  if (inst) FUZZ_CHECK(inst->hdr.size == sizeof(*inst));
  std::string path;
  auto watch = decode_snap_watch(data, size, &path, &err);
  if (watch) FUZZ_CHECK(watch->hdr.size <= size && watch->path_len <= watch->hdr.size - INOTRACE_SNAP_WATCH_FIXED);
  return 0;
}
