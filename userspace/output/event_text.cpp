#include "output/event_text.h"

#include <fmt/format.h>
#include <sys/inotify.h>

#include "events/names.h"
#include "util/text_encoding.h"

namespace inotrace {

namespace {

constexpr const char* kRowFormat = "{:<15} {:<16} {:>7} {:<15} {:>5} {:<18} {:<26} {}{}";

// IN_ALL_EVENTS is 12 names; say it once.
std::string short_mask(uint32_t mask) {
  if ((mask & IN_ALL_EVENTS) == IN_ALL_EVENTS) {
    uint32_t rest = mask & ~(uint32_t)IN_ALL_EVENTS;
    return rest ? "IN_ALL_EVENTS|" + mask_string(rest) : "IN_ALL_EVENTS";
  }
  return mask_string(mask);
}

}  // namespace

std::string text_header() {
  return fmt::format(fmt::runtime(kRowFormat), "TIME", "EVENT", "PID", "COMM", "WD", "DEV:INO",
                     "MASK", "PATH", "  ERRNO/REASON");
}

std::string event_to_text(const Event& ev, const WallClock& clock) {
  std::string wd = ev.wd > 0 ? std::to_string(ev.wd) : "-";
  std::string target = "-";
  std::string mask = "-";
  std::string path = ev.path.empty() ? "-" : escape_for_text(ev.path);
  std::string tail;
  switch (ev.type) {
    case EventType::Add:
    case EventType::Update:
    case EventType::Remove:
      if (ev.dev.raw) target = fmt::format("{}:{}", ev.dev.str(), ev.ino);
      mask = short_mask(ev.mask);
      if (ev.type == EventType::Remove) tail = fmt::format("  {}", reason_name(ev.reason));
      else if (ev.ucount.known())
        tail = fmt::format("  watches {}/{}", ev.ucount.count, ev.ucount.max);
      break;
    case EventType::AddFailed:
      mask = short_mask(ev.req_mask);
      tail = fmt::format("  {}", errno_name(ev.err));
      if (ev.err == ENOSPC && ev.ucount.known())
        tail += fmt::format(" (watches {}/{})", ev.ucount.count, ev.ucount.max);
      break;
    case EventType::InstanceCreate:
      target = fmt::format("fd {}", ev.fd);
      mask = init_flags_string(ev.req_mask);
      path = ev.instance.str();
      break;
    case EventType::InstanceDestroy:
      path = ev.instance.str();
      break;
    case EventType::InitFailed:
      mask = init_flags_string(ev.req_mask);
      tail = fmt::format("  {}", errno_name(ev.err));
      if (ev.err == EMFILE && ev.ucount.known())
        tail += fmt::format(" (instances {}/{})", ev.ucount.count, ev.ucount.max);
      break;
  }
  if (ev.from_snapshot) tail += "  (from snapshot)";
  return fmt::format(fmt::runtime(kRowFormat), clock.time_of_day(ev.ts_mono_ns),
                     event_type_name(ev.type), ev.task.pid, escape_for_text(ev.task.comm), wd,
                     target, mask, path, tail);
}

}  // namespace inotrace
