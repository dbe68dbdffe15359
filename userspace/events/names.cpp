#include "events/names.h"

#include <fmt/format.h>
#include <sys/inotify.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace inotrace {

namespace {

struct Bit {
  uint32_t bit;
  const char* name;
};

// IN_IGNORED/IN_ISDIR/IN_Q_OVERFLOW/IN_UNMOUNT are event bits, never in a watch mask, but
// naming them costs nothing and keeps raw masks readable.
constexpr Bit kMaskBits[] = {
    {IN_ACCESS, "IN_ACCESS"},         {IN_MODIFY, "IN_MODIFY"},
    {IN_ATTRIB, "IN_ATTRIB"},         {IN_CLOSE_WRITE, "IN_CLOSE_WRITE"},
    {IN_CLOSE_NOWRITE, "IN_CLOSE_NOWRITE"}, {IN_OPEN, "IN_OPEN"},
    {IN_MOVED_FROM, "IN_MOVED_FROM"}, {IN_MOVED_TO, "IN_MOVED_TO"},
    {IN_CREATE, "IN_CREATE"},         {IN_DELETE, "IN_DELETE"},
    {IN_DELETE_SELF, "IN_DELETE_SELF"}, {IN_MOVE_SELF, "IN_MOVE_SELF"},
    {IN_UNMOUNT, "IN_UNMOUNT"},       {IN_Q_OVERFLOW, "IN_Q_OVERFLOW"},
    {IN_IGNORED, "IN_IGNORED"},       {IN_ONLYDIR, "IN_ONLYDIR"},
    {IN_DONT_FOLLOW, "IN_DONT_FOLLOW"}, {IN_EXCL_UNLINK, "IN_EXCL_UNLINK"},
    {0x10000000 /* IN_MASK_CREATE */, "IN_MASK_CREATE"},
    {IN_MASK_ADD, "IN_MASK_ADD"},     {IN_ISDIR, "IN_ISDIR"},
    {IN_ONESHOT, "IN_ONESHOT"},
};

struct Errno {
  int value;
  const char* name;
};

constexpr Errno kErrnos[] = {
    {EPERM, "EPERM"},   {ENOENT, "ENOENT"}, {ESRCH, "ESRCH"},   {EINTR, "EINTR"},
    {EIO, "EIO"},       {EBADF, "EBADF"},   {EAGAIN, "EAGAIN"}, {ENOMEM, "ENOMEM"},
    {EACCES, "EACCES"}, {EFAULT, "EFAULT"}, {EBUSY, "EBUSY"},   {EEXIST, "EEXIST"},
    {ENODEV, "ENODEV"}, {ENOTDIR, "ENOTDIR"}, {EISDIR, "EISDIR"}, {EINVAL, "EINVAL"},
    {ENFILE, "ENFILE"}, {EMFILE, "EMFILE"}, {ENOSPC, "ENOSPC"}, {EROFS, "EROFS"},
    {ENAMETOOLONG, "ENAMETOOLONG"}, {ELOOP, "ELOOP"}, {ENOSYS, "ENOSYS"},
    {ESTALE, "ESTALE"}, {EOVERFLOW, "EOVERFLOW"}, {ENXIO, "ENXIO"},
};

}  // namespace

std::vector<std::string> mask_names(uint32_t mask) {
  std::vector<std::string> out;
  uint32_t known = 0;
  for (const auto& b : kMaskBits) {
    known |= b.bit;
    if (mask & b.bit) out.emplace_back(b.name);
  }
  for (uint32_t bit = 1; bit; bit <<= 1)
    if ((mask & bit) && !(known & bit)) out.push_back(fmt::format("{:#x}", bit));
  return out;
}

std::string mask_string(uint32_t mask) {
  if (mask == 0) return "0";
  std::string s;
  for (const auto& n : mask_names(mask)) {
    if (!s.empty()) s += '|';
    s += n;
  }
  return s;
}

std::string short_mask_string(uint32_t mask) {
  if ((mask & IN_ALL_EVENTS) != IN_ALL_EVENTS) return mask_string(mask);
  uint32_t rest = mask & ~(uint32_t)IN_ALL_EVENTS;
  return rest ? "IN_ALL_EVENTS|" + mask_string(rest) : "IN_ALL_EVENTS";
}

std::optional<uint32_t> parse_mask(std::string_view text) {
  uint32_t mask = 0;
  while (!text.empty()) {
    size_t bar = text.find('|');
    std::string_view tok = text.substr(0, bar);
    text = bar == std::string_view::npos ? std::string_view{} : text.substr(bar + 1);
    bool found = false;
    for (const auto& b : kMaskBits)
      if (tok == b.name) {
        mask |= b.bit;
        found = true;
      }
    if (tok == "IN_ALL_EVENTS") mask |= IN_ALL_EVENTS, found = true;
    if (!found) {
      uint32_t v = 0;
      int base = tok.starts_with("0x") ? 16 : 10;
      if (base == 16) tok.remove_prefix(2);
      auto [p, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), v, base);
      if (ec != std::errc{} || p != tok.data() + tok.size() || tok.empty()) return std::nullopt;
      mask |= v;
    }
  }
  return mask;
}

std::string init_flags_string(uint32_t flags) {
  std::string s;
  auto add = [&](const char* n) { s += s.empty() ? n : fmt::format("|{}", n); };
  if (flags & IN_NONBLOCK) add("IN_NONBLOCK");
  if (flags & IN_CLOEXEC) add("IN_CLOEXEC");
  uint32_t rest = flags & ~(uint32_t)(IN_NONBLOCK | IN_CLOEXEC);
  if (rest) add(fmt::format("{:#x}", rest).c_str());
  return s.empty() ? "0" : s;
}

std::string errno_name(int err) {
  for (const auto& e : kErrnos)
    if (e.value == err) return e.name;
  return fmt::format("E{}", err);
}

std::string_view event_type_name(EventType t) {
  switch (t) {
    case EventType::Add: return "add";
    case EventType::Update: return "update";
    case EventType::AddFailed: return "add_failed";
    case EventType::Remove: return "remove";
    case EventType::InstanceCreate: return "instance_create";
    case EventType::InstanceDestroy: return "instance_destroy";
    case EventType::InitFailed: return "init_failed";
  }
  return "unknown";
}

std::string_view reason_name(Reason r) {
  switch (r) {
    case Reason::None: return "";
    case Reason::RmWatch: return "rm_watch";
    case Reason::InodeDeleted: return "inode_deleted";
    case Reason::Unmount: return "unmount";
    case Reason::InstanceClosed: return "instance_closed";
    case Reason::Oneshot: return "oneshot";
    case Reason::Unknown: return "unknown";
  }
  return "unknown";
}

std::vector<std::string> reason_names(ReasonSet set) {
  std::vector<std::string> out;
  for (Reason r : {Reason::RmWatch, Reason::InodeDeleted, Reason::Unmount, Reason::InstanceClosed, Reason::Oneshot,
                   Reason::Unknown})
    if (set & reason_bit(r)) out.emplace_back(reason_name(r));
  return out;
}

std::string_view pid_source_name(PidSource s) {
  switch (s) {
    case PidSource::Actor: return "actor";
    case PidSource::None: return "none";
    case PidSource::Adder: return "adder";
    case PidSource::LastHolder: return "last_holder";
    case PidSource::OneOfHolders: return "one_of_holders";
  }
  return "actor";
}

std::string_view path_source_name(PathSource s) {
  switch (s) {
    case PathSource::None: return "none";
    case PathSource::Syscall: return "syscall";
    case PathSource::SyscallRelative: return "syscall_relative";
    case PathSource::Dentry: return "dentry";
    case PathSource::Kernfs: return "kernfs";
    case PathSource::Mount: return "mount";
    case PathSource::FileHandle: return "file_handle";
  }
  return "none";
}

}  // namespace inotrace
