#include "output/watch_json.h"

#include "events/names.h"
#include "output/event_json.h"
#include "output/workload_json.h"

namespace inotrace {

nlohmann::ordered_json watch_row_json(const WatchJsonRow& r) {
  using json = nlohmann::ordered_json;
  json j;
  j["pid"] = r.holder ? json(r.holder->pid) : json(nullptr);
  if (r.holder) put_path(j, "comm", r.holder->comm);
  else j["comm"] = nullptr;
  j["uid"] = r.holder ? json(r.holder->uid) : json(nullptr);
  j["instance"] = r.instance;
  j["fd"] = r.holder ? json(r.holder->fd) : json(nullptr);
  if (r.holder && r.holder->workload) put_workload(j, *r.holder->workload);
  j["wd"] = r.wd;
  j["ino"] = r.ino;
  j["dev"] = r.dev.str();
  j["mask"] = mask_names(r.mask);
  if (r.path.empty()) j["path"] = nullptr;
  else put_path(j, "path", r.path);
  j["path_source"] = path_source_name(r.path_source);
  if (r.path_truncated) j["path_truncated"] = true;
  if (!r.path_note.empty()) put_path(j, "path_note", r.path_note);
  return j;
}

}  // namespace inotrace
