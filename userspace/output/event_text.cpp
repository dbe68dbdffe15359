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

// Pads the field appended since `from` to `width` display columns, then the separator.
void pad_left_field(std::string& out, size_t from, size_t width) {
  size_t w = columns(std::string_view(out).substr(from));
  if (w < width) out.append(width - w, ' ');
  out += ' ';
}

// The same for a field that is ASCII by construction: a byte is a column.
void pad_ascii_field(std::string& out, size_t from, size_t width) {
  if (out.size() - from < width) out.append(width - (out.size() - from), ' ');
  out += ' ';
}

// For fields that are ASCII by construction (times, names, numbers): a byte is a column.
void left_ascii(std::string& out, std::string_view s, size_t width) {
  out.append(s);
  if (s.size() < width) out.append(width - s.size(), ' ');
  out += ' ';
}

void append_number(std::string& out, uint64_t n) {
  fmt::format_int f(n);
  out.append(f.data(), f.size());
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

// "<a>/<b>" counts, as in "watches 10/8192".
void append_count(std::string& out, std::string_view what, int64_t count, int64_t max) {
  fmt::format_int c(count), m(max);
  char buf[64];  // what is the program's own word: "watches", "instances"
  size_t n = what.copy(buf, 16);
  buf[n++] = ' ';
  n += std::string_view(c.data(), c.size()).copy(buf + n, 20);
  buf[n++] = '/';
  n += std::string_view(m.data(), m.size()).copy(buf + n, 20);
  out.append(buf, n);
}

// What follows the path: the failure, the removal's reason, the counts, the flags. Appended
// in place: a string and a format call per event were a tenth of the text path.
void append_tail(std::string& out, const Event& ev) {
  switch (ev.type) {
    case EventType::Add:
    case EventType::Update:
      if (ev.ucount.known()) out += "  ", append_count(out, "watches", ev.ucount.count, ev.ucount.max);
      break;
    case EventType::Remove: {
      (out += "  ") += reason_name(ev.reason);
      // An uncertain deduction ends in '?' and lists the other reasons the evidence allowed.
      ReasonSet others = ev.possible_reasons & ~reason_bit(ev.reason);
      if (ev.possible_reasons) out += fmt::format("? (or {})", fmt::join(reason_names(others), "|"));
      break;
    }
    case EventType::AddFailed:
      (out += "  ") += errno_name(ev.err);
      if (ev.err == ENOSPC && ev.ucount.known())
        out += " (", append_count(out, "watches", ev.ucount.count, ev.ucount.max), out += ')';
      break;
    case EventType::InitFailed:
      (out += "  ") += errno_name(ev.err);
      if (ev.err == EMFILE && ev.ucount.known())
        out += " (", append_count(out, "instances", ev.ucount.count, ev.ucount.max), out += ')';
      break;
    case EventType::InstanceCreate:
    case EventType::InstanceDestroy:
      break;
  }
  if (ev.is_watch_event() && (ev.flags & INOTRACE_F_PATH_TRUNCATED)) out += "  (path truncated)";
  if (ev.stack) {
    // The first frames past the syscall wrappers: where in the program the watch came from.
    out += fmt::format("  (stack, {}:", stack_quality_name(ev.stack->quality));
    const auto& frames = ev.stack->frames;
    for (size_t i = ev.stack->first_caller_frame(), shown = 0; i < frames.size() && shown < 3; i++, shown++)
      out += (shown ? " < " : " ") + escape_for_text(frame_label(frames[i]));
    out += ')';
  }
  if (ev.from_snapshot) {
    bool at_add = ev.type == EventType::Remove && (ev.flags & INOTRACE_F_MARK_GONE);
    out += at_add ? "  (deduced" : "  (from snapshot";
    if (ev.pid_source == PidSource::Adder) out += "; pid of the adder";
    else if (ev.pid_source == PidSource::OneOfHolders) out += "; pid of one holder";
    out += ')';
  }
}

}  // namespace

std::string text_header() {
  std::string out;
  left_ascii(out, "TIME", kTime);
  left_ascii(out, "EVENT", kEvent);
  right(out, "PID", kPid);
  left_ascii(out, "COMM", kComm);
  right(out, "WD", kWd);
  left_ascii(out, "DEV:INO", kTarget);
  left_ascii(out, "MASK", kMask);
  out += "PATH  ERRNO/REASON";
  return out;
}

// Straight into `out`: on the per-event path nothing but the rare tails allocates.
void append_event_text(std::string& out, const Event& ev, const WallClock& clock) {
  const bool watch = ev.type == EventType::Add || ev.type == EventType::Update || ev.type == EventType::Remove;
  const bool instance = ev.type == EventType::InstanceCreate || ev.type == EventType::InstanceDestroy;
  left_ascii(out, clock.time_of_day(ev.ts_mono_ns), kTime);
  left_ascii(out, event_type_name(ev.type), kEvent);
  fmt::format_int pid(ev.task.pid);
  right(out, std::string_view(pid.data(), pid.size()), kPid);
  size_t from = out.size();
  append_escaped_for_text(out, ev.task.comm);
  pad_left_field(out, from, kComm);
  fmt::format_int wd(ev.wd);
  right(out, ev.wd > 0 ? std::string_view(wd.data(), wd.size()) : "-", kWd);
  from = out.size();
  if (watch && ev.dev.raw) {
    append_number(out, ev.dev.major()), out += ':', append_number(out, ev.dev.minor()), out += ':';
    append_number(out, ev.ino);
  } else if (ev.type == EventType::InstanceCreate) {
    out += "fd ", out += fmt::format_int(ev.fd).str();
  } else {
    out += '-';
  }
  pad_ascii_field(out, from, kTarget);
  if (watch) left_ascii(out, short_mask(ev.mask), kMask);
  else if (ev.type == EventType::AddFailed) left_ascii(out, short_mask(ev.req_mask), kMask);
  else if (ev.type == EventType::InstanceCreate || ev.type == EventType::InitFailed) left_ascii(out, init_flags_string(ev.req_mask), kMask);
  else left_ascii(out, "-", kMask);
  if (instance) out += ev.instance.text().view();
  else if (ev.path.empty()) out += '-';
  else append_escaped_for_text(out, ev.path);
  append_tail(out, ev);
}

std::string event_to_text(const Event& ev, const WallClock& clock) {
  std::string out;
  out.reserve(128 + ev.path.size());
  append_event_text(out, ev, clock);
  return out;
}

}  // namespace inotrace
