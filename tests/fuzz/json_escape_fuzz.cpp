// JSON escaping of kernel byte strings (paths, command names: any user chooses them), through
// both writers: the DOM (daemon API, put_path) and the hand-written NDJSON line of
// `trace --json`, which must also equal the DOM's dump() byte for byte.
#include <fuzzer/FuzzedDataProvider.h>

#include <string>

#include "json_check.h"
#include "output/event_json.h"

using namespace inotrace;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  Event ev;
  ev.type = static_cast<EventType>(in.ConsumeIntegralInRange<int>(INOTRACE_REC_ADD, INOTRACE_REC_INIT_FAILED));
  ev.ts_mono_ns = in.ConsumeIntegral<uint64_t>();
  ev.flags = in.ConsumeIntegral<uint32_t>();
  ev.task = TaskInfo{in.ConsumeIntegral<uint32_t>(), in.ConsumeIntegral<uint32_t>(), in.ConsumeIntegral<uint32_t>(),
                     in.ConsumeIntegral<uint64_t>(), in.ConsumeRandomLengthString(16)};
  ev.instance = InstanceId{in.ConsumeIntegral<uint64_t>(), in.ConsumeIntegral<uint64_t>()};
  ev.fd = in.ConsumeIntegral<int32_t>();
  ev.wd = in.ConsumeIntegral<int32_t>();
  ev.ino = in.ConsumeIntegral<uint64_t>();
  ev.dev.raw = in.ConsumeIntegral<uint32_t>();
  ev.mask = in.ConsumeIntegral<uint32_t>();
  ev.req_mask = in.ConsumeIntegral<uint32_t>();
  ev.err = in.ConsumeIntegral<int32_t>();
  ev.reason = static_cast<Reason>(in.ConsumeIntegralInRange<int>(INOTRACE_REASON_NONE, INOTRACE_REASON_UNKNOWN));
  ev.ucount = UcountInfo{in.ConsumeIntegral<int64_t>(), in.ConsumeIntegral<int64_t>(), in.ConsumeIntegral<uint32_t>(),
                         in.ConsumeIntegral<uint32_t>()};
  ev.path_source = static_cast<PathSource>(in.ConsumeIntegralInRange<int>(0, (int)PathSource::FileHandle));
  ev.from_snapshot = in.ConsumeBool();
  ev.path = in.ConsumeRemainingBytesAsString();

  WallClock clock(0);
  std::string line = event_to_json_line(ev, clock, "fentry");
  FUZZ_CHECK(line.find('\n') == std::string::npos);  // NDJSON: one line per event
  auto parsed = nlohmann::ordered_json::parse(line);  // throws (a crash) if it is not JSON
  FUZZ_CHECK(line == event_to_json(ev, clock, "fentry").dump());
  check_json_string(parsed, "comm", ev.task.comm);
  if (ev.is_watch_event()) check_json_string(parsed, "path", ev.path);

  nlohmann::ordered_json obj;
  put_path(obj, "p", ev.path);
  check_json_string(nlohmann::ordered_json::parse(obj.dump()), "p", ev.path);
  return 0;
}
