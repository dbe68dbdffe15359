#include "output/watch_json.h"

#include "events/names.h"
#include "output/json_fields.h"
#include "output/workload_json.h"

namespace inotrace {

namespace {
constexpr size_t kMaxCachedMasks = 4096;  // masks are few in practice; never an unbounded map
}

void WatchRowWriter::set_instance(const WatchJsonHolder* holder, std::string_view instance) {
  head_.clear();
  JsonFields f(head_);
  if (!holder) {
    f.null("pid"), f.null("comm"), f.null("uid"), f.str("instance", instance), f.null("fd");
    return;
  }
  f.num("pid", holder->pid);
  f.path("comm", holder->comm);
  f.num("uid", holder->uid);
  f.str("instance", instance);
  f.num("fd", holder->fd);
  if (holder->workload) write_workload(f, *holder->workload);
}

const std::string& WatchRowWriter::mask_json(uint32_t mask) {
  auto it = masks_.find(mask);
  if (it != masks_.end()) return it->second;
  std::string& text = masks_.size() < kMaxCachedMasks ? masks_[mask] : uncached_mask_;
  text.clear();
  append_json_names(text, mask_names(mask));
  return text;
}

void WatchRowWriter::append(std::string& out, const WatchJsonFields& w) {
  JsonFields f(out, /*first=*/false);  // the head's fields come first
  f.text("{");
  f.text(head_);
  f.num("wd", w.wd);
  f.num("ino", w.ino);
  f.plain("dev", w.dev.text());
  f.raw("mask", mask_json(w.mask));
  if (w.path.empty()) f.null("path");
  else f.path("path", w.path);
  f.plain("path_source", path_source_name(w.path_source));
  if (w.path_truncated) f.boolean("path_truncated", true);
  if (!w.path_note.empty()) f.path("path_note", w.path_note);
  f.text("}");
}

}  // namespace inotrace
