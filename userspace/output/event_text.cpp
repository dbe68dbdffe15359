#include "output/event_text.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/inotify.h>

#include "events/names.h"
#include "output/stack_json.h"
#include "util/text_encoding.h"

namespace inotrace {

namespace {

// Column widths of the row: TIME EVENT PID COMM WD DEV:INO MASK PATH  ERRNO/REASON.
// Built by appending and padding by hand: fmt's width specifiers measure every string's
// display width code point by code point, which was most of the text path's cost (callgrind).
constexpr size_t kTime = 15, kEvent = 16, kPid = 7, kComm = 15, kWd = 5, kTarget = 18, kMask = 26;

// Display columns of UTF-8 text: one per code point (escape_for_text output is valid UTF-8).
size_t columns(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xc0) != 0x80;
  return n;
}

void left(std::string& out, std::string_view s, size_t width) {
  out.append(s);
  size_t w = columns(s);
  if (w < width) out.append(width - w, ' ');
  out += ' ';
}

void right(std::string& out, std::string_view s, size_t width) {
  if (s.size() < width) out.append(width - s.size(), ' ');
  out.append(s);
  out += ' ';
}

// IN_ALL_EVENTS is 12 names; say it once. The last mask's text is kept: a stream of events
// repeats a handful of masks.
const std::string& short_mask(uint32_t mask) {
  thread_local uint32_t last_mask = 0;
  thread_local std::string last = mask_string(0);
  if (mask != last_mask) {
    last_mask = mask;
    last = short_mask_string(mask);
  }
  return last;
}

std::string row(std::string_view time, std::string_view event, std::string_view pid, std::string_view comm,
                std::string_view wd, std::string_view target, std::string_view mask, std::string_view path,
                std::string_view tail) {
  std::string out;
  out.reserve(128 + path.size() + tail.size());
  left(out, time, kTime);
  left(out, event, kEvent);
  right(out, pid, kPid);
  left(out, comm, kComm);
  right(out, wd, kWd);
  left(out, target, kTarget);
  left(out, mask, kMask);
  out.append(path);
  out.append(tail);
  return out;
}

}  // namespace

std::string text_header() {
  return row("TIME", "EVENT", "PID", "COMM", "WD", "DEV:INO", "MASK", "PATH", "  ERRNO/REASON");
}

std::string event_to_text(const Event& ev, const WallClock& clock) {
  char wd_buf[16] = "-", pid_buf[16];
  if (ev.wd > 0) *fmt::format_to(wd_buf, "{}", ev.wd) = 0;
  *fmt::format_to(pid_buf, "{}", ev.task.pid) = 0;
  std::string target = "-";
  std::string mask = "-";
  std::string path = ev.path.empty() ? "-" : escape_for_text(ev.path);
  std::string tail;
  switch (ev.type) {
    case EventType::Add:
    case EventType::Update:
    case EventType::Remove:
      if (ev.dev.raw) target = fmt::format("{}:{}:{}", ev.dev.major(), ev.dev.minor(), ev.ino);
      mask = short_mask(ev.mask);
      if (ev.type == EventType::Remove) {
        (tail = "  ") += reason_name(ev.reason);
        // An uncertain deduction ends in '?' and lists the other reasons the evidence allowed.
        ReasonSet others = ev.possible_reasons & ~reason_bit(ev.reason);
        if (ev.possible_reasons) tail += fmt::format("? (or {})", fmt::join(reason_names(others), "|"));
      }
      else if (ev.ucount.known())
        tail = fmt::format("  watches {}/{}", ev.ucount.count, ev.ucount.max);
      break;
    case EventType::AddFailed:
      mask = short_mask(ev.req_mask);
      (tail = "  ") += errno_name(ev.err);
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
      (tail = "  ") += errno_name(ev.err);
      if (ev.err == EMFILE && ev.ucount.known())
        tail += fmt::format(" (instances {}/{})", ev.ucount.count, ev.ucount.max);
      break;
  }
  if (ev.is_watch_event() && (ev.flags & INOTRACE_F_PATH_TRUNCATED)) tail += "  (path truncated)";
  if (ev.stack) {
    // The first frames past the syscall wrappers: where in the program the watch came from.
    tail += fmt::format("  (stack, {}:", stack_quality_name(ev.stack->quality));
    const auto& frames = ev.stack->frames;
    for (size_t i = ev.stack->first_caller_frame(), shown = 0; i < frames.size() && shown < 3; i++, shown++)
      tail += (shown ? " < " : " ") + escape_for_text(frame_label(frames[i]));
    tail += ')';
  }
  if (ev.from_snapshot) {
    bool at_add = ev.type == EventType::Remove && (ev.flags & INOTRACE_F_MARK_GONE);
    tail += at_add ? "  (deduced" : "  (from snapshot";
    if (ev.pid_source == PidSource::Adder) tail += "; pid of the adder";
    else if (ev.pid_source == PidSource::OneOfHolders) tail += "; pid of one holder";
    tail += ')';
  }
  return row(clock.time_of_day(ev.ts_mono_ns), event_type_name(ev.type), pid_buf, escape_for_text(ev.task.comm),
             wd_buf, target, mask, path, tail);
}

}  // namespace inotrace
