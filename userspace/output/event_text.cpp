#include "output/event_text.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/inotify.h>

#include <cstring>

#include "events/names.h"
#include "output/stack_json.h"
#include "util/text_encoding.h"

namespace inotrace {

namespace {

// Column widths of the row: TIME EVENT PID COMM WD DEV:INO MASK PATH  ERRNO/REASON.
constexpr size_t kTime = 15, kEvent = 16, kPid = 7, kComm = 15, kWd = 5, kTarget = 18, kMask = 26;

// Display columns of UTF-8 text: one per code point (escape_for_text output is valid UTF-8).
size_t columns(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xc0) != 0x80;
  return n;
}

// The row's fixed columns, written through a cursor into room taken at the end of `out` once
// (their longest texts are known before): one resize per row instead of a string append per
// column and pad, which were most of the text path's cost. Padded by hand: fmt's width
// specifiers measure every string's display width code point by code point.
class Columns {
 public:
  Columns(std::string& out, size_t room) : out_(out) {
    size_t base = out.size();
    out.resize(base + room);
    p_ = out.data() + base;
  }
  ~Columns() { out_.resize(static_cast<size_t>(p_ - out_.data())); }
  Columns(const Columns&) = delete;
  Columns& operator=(const Columns&) = delete;

  // For fields that are ASCII by construction (times, names, numbers): a byte is a column.
  void left(std::string_view s, size_t width) { put(s), pad(s.size(), width); }
  void right(std::string_view s, size_t width) {
    if (s.size() < width) spaces(width - s.size());
    put(s), *p_++ = ' ';
  }
  // Escaped text (valid UTF-8): padded by code points.
  void left_text(std::string_view s, size_t width) { put(s), pad(columns(s), width); }
  // An ASCII field written in parts: padded from where it began.
  char* mark() const { return p_; }
  void pad_from(const char* from, size_t width) { pad(static_cast<size_t>(p_ - from), width); }
  void put(std::string_view s) {
    if (!s.empty()) std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  void put(char c) { *p_++ = c; }
  void number(uint64_t n) {
    fmt::format_int f(n);
    put(std::string_view(f.data(), f.size()));
  }

 private:
  void spaces(size_t n) { std::memset(p_, ' ', n), p_ += n; }
  void pad(size_t used, size_t width) {
    if (used < width) spaces(width - used);
    *p_++ = ' ';
  }
  std::string& out_;
  char* p_;
};

// Room for every column: each at most its width or its text, a separator, digits of numbers.
constexpr size_t kColumnsRoom = kTime + kEvent + kPid + kComm + kWd + kTarget + kMask + 7 + 3 * 20 + 32;

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
  {
    Columns c(out, kColumnsRoom);
    c.left("TIME", kTime);
    c.left("EVENT", kEvent);
    c.right("PID", kPid);
    c.left("COMM", kComm);
    c.right("WD", kWd);
    c.left("DEV:INO", kTarget);
    c.left("MASK", kMask);
  }
  out += "PATH  ERRNO/REASON";
  return out;
}

// Straight into `out`: on the per-event path nothing but the rare tails allocates.
void append_event_text(std::string& out, const Event& ev, const WallClock& clock) {
  const bool watch = ev.type == EventType::Add || ev.type == EventType::Update || ev.type == EventType::Remove;
  const bool instance = ev.type == EventType::InstanceCreate || ev.type == EventType::InstanceDestroy;
  std::string escaped_comm;  // only when it needs escaping (rare)
  std::string_view comm = ev.task.comm;
  if (!printable_ascii(comm)) comm = escaped_comm = escape_for_text(comm);
  std::string flags;  // an instance's flags (rare)
  std::string_view mask = "-";
  if (watch) mask = short_mask(ev.mask);
  else if (ev.type == EventType::AddFailed) mask = short_mask(ev.req_mask);
  else if (ev.type == EventType::InstanceCreate || ev.type == EventType::InitFailed) mask = flags = init_flags_string(ev.req_mask);
  std::string_view type = event_type_name(ev.type);
  {
    Columns c(out, kColumnsRoom + type.size() + comm.size() + mask.size());
    c.left(clock.time_of_day(ev.ts_mono_ns), kTime);
    c.left(type, kEvent);
    fmt::format_int pid(ev.task.pid);
    c.right(std::string_view(pid.data(), pid.size()), kPid);
    c.left_text(comm, kComm);
    fmt::format_int wd(ev.wd);
    c.right(ev.wd > 0 ? std::string_view(wd.data(), wd.size()) : "-", kWd);
    const char* target = c.mark();
    if (watch && ev.dev.raw) {
      c.number(ev.dev.major()), c.put(':'), c.number(ev.dev.minor()), c.put(':'), c.number(ev.ino);
    } else if (ev.type == EventType::InstanceCreate) {
      fmt::format_int fd(ev.fd);
      c.put("fd "), c.put(std::string_view(fd.data(), fd.size()));
    } else {
      c.put('-');
    }
    c.pad_from(target, kTarget);
    c.left(mask, kMask);
  }
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
