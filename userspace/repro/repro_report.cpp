#include "repro/repro_report.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "output/stack_json.h"
#include "output/svg_chart.h"
#include "output/svg_to_png.h"
#include "util/error.h"
#include "util/text_encoding.h"
#include "util/unique_fd.h"

namespace inotrace::repro {

using json = nlohmann::ordered_json;

namespace {

struct Totals {
  int pods = 0, pinned = 0, added = 0, leaked = 0, leaked_pinned = 0, leaked_unpinned = 0, leaking_pods = 0;
  std::map<std::string, int> removed;
};

Totals totals_of(const ReproReport& r) {
  Totals t;
  for (const auto& p : r.pods) {
    t.pods++;
    t.pinned += p.pinned;
    t.added += p.added;
    t.leaked += p.leaked;
    (p.pinned ? t.leaked_pinned : t.leaked_unpinned) += p.leaked;
    t.leaking_pods += p.leaked > 0;
    for (const auto& [k, n] : p.removed) t.removed[k] += n;
  }
  return t;
}

// Reproduced: watches leaked, exactly on the pinned pods (each pinned pod leaks, no unpinned
// pod does).
bool reproduced(const ReproReport& r) {
  Totals t = totals_of(r);
  if (t.leaked == 0 || t.leaked_unpinned) return false;
  for (const auto& p : r.pods)
    if (p.pinned && p.leaked == 0) return false;
  return true;
}

std::string verdict_text(const ReproReport& r) {
  Totals t = totals_of(r);
  if (reproduced(r))
    return fmt::format("leak reproduced: {} watches leaked on {} of {} pinned pods, none on the {} unpinned pods",
                       t.leaked, t.leaking_pods, t.pinned, t.pods - t.pinned);
  if (t.leaked == 0) return fmt::format("leak not reproduced: no watch outlived its pod ({} pinned pods)", t.pinned);
  return fmt::format("unexpected: {} watches leaked ({} on pinned pods, {} on unpinned pods)", t.leaked, t.leaked_pinned,
                     t.leaked_unpinned);
}

}  // namespace

namespace {

json leaks_by_stack(const ReproReport& r) {
  std::vector<std::pair<const CreationStack*, std::string>> created;
  for (const auto& [stack, pod] : r.leaked_stacks) created.emplace_back(stack.get(), pod);
  return group_by_stack(created);
}

// --stacks: which code paths created what leaked, largest group first.
std::string stacks_markdown(const ReproReport& r) {
  std::string s =
      "## Leaked watches by creating stack\n\n| leaked | pods | quality | creating frames (innermost first) "
      "|\n|---|---|---|---|\n";
  for (const auto& g : leaks_by_stack(r)) {
    std::string frames;
    for (const auto& f : g["top_frames"]) {
      std::string name = escape_for_text(f.get<std::string>());  // a binary's bytes: no table breaks
      std::replace(name.begin(), name.end(), '|', '/');
      std::replace(name.begin(), name.end(), '`', '\'');
      frames += (frames.empty() ? "`" : " < `") + name + "`";
    }
    std::string quality = g["stack"].is_null() ? "creation not seen" : g["stack"]["quality"].get<std::string>();
    s += fmt::format("| {} | {} | {} | {} |\n", g["count"].get<size_t>(), g["pods"].size(), quality,
                     frames.empty() ? "-" : frames);
  }
  return s + "\n";
}

}  // namespace

json report_json(const ReproReport& r) {
  json j;
  const auto& o = r.options;
  j["parameters"] = {{"pods", o.pods}, {"pin", o.pin_fraction}, {"rate", o.rate}, {"lifetime_s", o.lifetime_s},
                     {"watcher", o.watcher.empty() ? "built-in" : o.watcher}, {"backend", r.backend},
                     {"kernel", r.kernel}, {"scratch_root", r.scratch_root}};
  j["pods"] = json::array();
  for (const auto& p : r.pods) {
    json pins = json::array();
    for (const auto& pin : p.pinned_by) pins.push_back({{"mnt_ns", pin.mnt_ns}, {"pid", pin.pid}, {"mount_point", pin.mount_point}});
    json removed = json::object();
    for (const auto& [k, n] : p.removed) removed[k] = n;
    j["pods"].push_back({{"uid", p.uid}, {"pinned", p.pinned}, {"added", p.added}, {"removed", removed},
                         {"leaked", p.leaked}, {"pinned_by", pins}});
  }
  Totals t = totals_of(r);
  json removed = json::object();
  for (const auto& [k, n] : t.removed) removed[k] = n;
  j["totals"] = {{"pods", t.pods}, {"pinned_pods", t.pinned}, {"added", t.added}, {"removed", removed},
                 {"leaked", t.leaked}, {"leaked_on_pinned", t.leaked_pinned}, {"leaked_on_unpinned", t.leaked_unpinned},
                 {"leaking_pods", t.leaking_pods}};
  j["verdict"] = {{"reproduced", reproduced(r)}, {"summary", verdict_text(r)}, {"leaked_watches", t.leaked},
                  {"interrupted", r.interrupted}};
  j["timeline"] = json::array();
  for (const auto& p : r.timeline) {
    json users = json::object();
    for (const auto& [uid, n] : p.user_watches) users[std::to_string(uid)] = n;
    j["timeline"].push_back({{"t", std::round(p.t * 1000) / 1000}, {"live_watches", p.live_watches},
                             {"pods_alive", p.pods_alive}, {"leaked_watches", p.leaked_watches}, {"user_watches", users}});
  }
  if (o.session.tracer.capture_stacks) j["leaks_by_stack"] = leaks_by_stack(r);
  j["duration_s"] = r.duration_s;
  return j;
}

std::string report_markdown(const ReproReport& r) {
  Totals t = totals_of(r);
  const auto& o = r.options;
  std::string s = "# inotrace repro: kubelet inotify watch leak\n\n";
  s += fmt::format("**Verdict:** {}.\n\n", verdict_text(r));
  s += fmt::format("{} pods at {} pods/s, each alive {} s; {:.0f} % pinned by the containerized mounter "
                   "(it never unmounts its copy); watcher: {}; backend {}, kernel {}; {:.1f} s.\n\n",
                   o.pods, o.rate, o.lifetime_s, o.pin_fraction * 100, o.watcher.empty() ? "built-in" : "`" + o.watcher + "`",
                   r.backend, r.kernel, r.duration_s);
  if (r.interrupted) s += "**Interrupted** before the end: the numbers cover what ran.\n\n";
  s += "## Totals\n\n| pods | pinned | watches added | removed | leaked | leaked on pinned | leaked on unpinned |\n|---|---|---|---|---|---|---|\n";
  std::string removed;
  for (const auto& [k, n] : t.removed) removed += fmt::format("{}{} {}", removed.empty() ? "" : ", ", k, n);
  s += fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n\n", t.pods, t.pinned, t.added, removed.empty() ? "0" : removed,
                   t.leaked, t.leaked_pinned, t.leaked_unpinned);
  s += "![live watches, pods alive and leaked watches over time](watches.svg)\n\n";
  s += "## Per pod\n\n| pod uid | pinned | added | removed (by reason) | leaked | pinned by (mount namespace, pid: mount point) |\n|---|---|---|---|---|---|\n";
  for (const auto& p : r.pods) {
    std::string rem, pins;
    for (const auto& [k, n] : p.removed) rem += fmt::format("{}{} {}", rem.empty() ? "" : ", ", k, n);
    for (const auto& pin : p.pinned_by) pins += fmt::format("{}mnt:[{}] pid {}: `{}`", pins.empty() ? "" : "<br>", pin.mnt_ns, pin.pid, pin.mount_point);
    s += fmt::format("| {} | {} | {} | {} | {} | {} |\n", p.uid, p.pinned ? "yes" : "no", p.added, rem.empty() ? "-" : rem,
                     p.leaked, pins.empty() ? "-" : pins);
  }
  if (o.session.tracer.capture_stacks) s += "\n" + stacks_markdown(r);
  s += "\n## Per-user watches over time (whole node)\n\n| t (s) | ";
  std::set<uint32_t> uids;
  for (const auto& p : r.timeline)
    for (const auto& [uid, n] : p.user_watches) uids.insert(uid);
  for (uint32_t u : uids) s += fmt::format("uid {} | ", u);
  s += "\n|---|" + std::string(uids.size() * 4, '-') + "\n";
  size_t step = std::max<size_t>(1, r.timeline.size() / 12);
  for (size_t i = 0; i < r.timeline.size(); i += step) {
    s += fmt::format("| {:.1f} | ", r.timeline[i].t);
    for (uint32_t u : uids) {
      auto it = r.timeline[i].user_watches.find(u);
      s += fmt::format("{} | ", it == r.timeline[i].user_watches.end() ? 0 : it->second);
    }
    s += "\n";
  }
  return s;
}

std::string report_svg(const ReproReport& r) {
  Chart c;
  c.title = fmt::format("inotrace repro: {} pods, {:.0f}% pinned - {}", r.options.pods, r.options.pin_fraction * 100,
                        reproduced(r) ? "leak reproduced" : "no leak");
  c.x_label = "time (s)";
  c.y_label = "count";
  ChartSeries live{"live watches", "#1f77b4", {}}, alive{"pods alive", "#2ca02c", {}}, leaked{"leaked watches", "#d62728", {}};
  for (const auto& p : r.timeline) {
    c.x.push_back(p.t);
    live.y.push_back(p.live_watches);
    alive.y.push_back(p.pods_alive);
    leaked.y.push_back(p.leaked_watches);
  }
  c.series = {live, alive, leaked};
  return render_svg(c);
}

namespace {

void write_all(int fd, const std::string& text, const std::string& path) {
  for (size_t off = 0; off < text.size();) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
    off += static_cast<size_t>(n);
  }
}

}  // namespace

std::vector<std::string> write_report(const ReproReport& r, const std::string& dir, OutputMode mode,
                                      const std::function<void(const std::string&)>& log) {
  std::vector<std::string> written;
  auto write = [&](const std::string& name, const std::string& text) {
    const std::string path = dir + "/" + name;
    UniqueFd fd = open_output_file(path, mode, 0644);
    write_all(fd.get(), text, path);
    if (::close(fd.release()) != 0) throw Error(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
    written.push_back(path);
  };
  const std::string svg = report_svg(r);
  write("report.json", report_json(r).dump(2) + "\n");
  write("report.md", report_markdown(r));
  write("watches.svg", svg);
  std::string why_no_png;
  if (auto png = svg_to_png(svg, &why_no_png))
    write("watches.png", *png);
  else
    log(fmt::format("repro: no {}/watches.png: {}", dir, why_no_png));
  return written;
}

}  // namespace inotrace::repro
