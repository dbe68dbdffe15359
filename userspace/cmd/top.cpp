#include "cmd/top.h"

#include <fmt/format.h>
#include <unistd.h>

#include <thread>

#include "util/stop_signal.h"
#include "serve/api_token.h"
#include "serve/api_views.h"
#include "util/http_get.h"
#include "util/log.h"
#include "util/standard_output.h"
#include "util/text_encoding.h"
#include "util/wall_clock.h"

namespace inotrace {

namespace {

using json = nlohmann::ordered_json;

struct Frame {
  json status, users, processes, leaks, pods;
};

std::string bar(double frac, int width) {
  int n = std::clamp((int)(frac * width + 0.5), 0, width);
  return fmt::format("[{}{}]", std::string(n, '#'), std::string(width - n, '.'));
}

std::string num(const json& v) { return v.is_null() ? "-" : v.dump(); }

// A forecast as a terminal shows it: "17m" until the limit, "never" (not growing), "-" (unknown).
std::string time_left(const json& seconds, const json& growing) {
  if (seconds.is_number()) {
    double v = seconds.get<double>();
    if (v < 120) return fmt::format("{:.0f}s", v);
    if (v < 2 * 3600) return fmt::format("{:.0f}m", v / 60);
    if (v < 2 * 86400) return fmt::format("{:.1f}h", v / 3600);
    return fmt::format("{:.1f}d", v / 86400);
  }
  return growing.is_boolean() && !growing.get<bool>() ? "never" : "-";
}

std::string str(const json& v) { return v.is_string() ? escape_for_text(v.get<std::string>()) : std::string("?"); }

// "NAMESPACE/NAME" of a row's pod (its uid when unnamed), "" outside pods.
std::string pod_name(const json& r) {
  if (!r.contains("pod") || !r["pod"].is_object()) return "";
  const json& p = r["pod"];
  return p["name"].is_string() ? fmt::format("{}/{}", str(p["namespace"]), str(p["name"])) : str(p["uid"]);
}

// "  pod NAMESPACE/NAME container NAME" for a refused init with a workload, else "".
std::string pod_text(const json& r) {
  std::string pod = pod_name(r);
  if (pod.empty()) return "";
  std::string s = "  pod " + pod;
  if (r.contains("container") && r["container"].is_object()) s += " container " + str(r["container"]["name"]);
  return s;
}

// The pods holding the most watches (/api/pods), and what the rest of the node holds.
std::string render_pods(const Frame& f, const TopCommandOptions& o, const char* bold, const char* reset) {
  if (!f.pods.contains("pods") || f.pods["pods"].empty()) return "";
  std::string s = fmt::format("\n{}{:<40} {:>6} {:>9} {:>9}  CONTAINERS{}\n", bold, "POD", "PROCS", "INSTANCES", "WATCHES", reset);
  size_t n = 0;
  for (const auto& p : f.pods["pods"]) {
    if (n++ >= o.rows) break;
    std::string containers;
    for (const auto& c : p["containers"]) containers += (containers.empty() ? "" : ",") + (c.is_string() ? str(c) : "?");
    s += fmt::format("{:<40} {:>6} {:>9} {:>9}  {}\n", pod_name(p), num(p["processes"]), num(p["instances"]),
                     num(p["watches"]), containers);
  }
  const json& host = f.pods["not_in_a_pod"];
  s += fmt::format("{:<40} {:>6} {:>9} {:>9}\n", "(not in a pod)", num(host["processes"]), num(host["instances"]), num(host["watches"]));
  return s;
}

// Per user: watches and instances against their limits, and when each runs out at its growth.
std::string render_users(const Frame& f, const TopCommandOptions& o) {
  const char* red = o.color ? "\033[1;31m" : "";
  const char* bold = o.color ? "\033[1m" : "";
  const char* reset = o.color ? "\033[0m" : "";
  std::string s = fmt::format("{}{:>7} {:>12} {:>9} {:>9} {:>9} {:>13} {:>9} {:>9}  USAGE OF LIMIT{}\n", bold, "UID", "USERNS",
                              "WATCHES", "KERNEL", "LIMIT", "INST/LIMIT", "W_FULL_IN", "I_FULL_IN", reset);
  for (const auto& u : f.users["users"]) {
    double lim = u["max_user_watches"].is_null() ? 0 : u["max_user_watches"].get<double>();
    double cnt = u["kernel_watches"].is_null() ? u["present_watches"].get<double>() : u["kernel_watches"].get<double>();
    std::string usage = lim > 0 ? fmt::format("{} {:5.1f}%", bar(cnt / lim, 20), 100 * cnt / lim) : "-";
    double ilim = u.value("max_user_instances", json()).is_number() ? u["max_user_instances"].get<double>() : 0;
    bool hot = (lim > 0 && cnt / lim > 0.9) || (ilim > 0 && u["instances"].get<double>() / ilim > 0.9);
    s += fmt::format("{}{:>7} {:>12} {:>9} {:>9} {:>9} {:>13} {:>9} {:>9}  {}{}{}\n", hot ? red : "", num(u["uid"]),
                     num(u["user_ns"]), num(u["present_watches"]), num(u["kernel_watches"]), num(u["max_user_watches"]),
                     fmt::format("{}/{}", num(u["instances"]), num(u.value("max_user_instances", json()))),
                     time_left(u.value("watches_exhaustion_seconds", json()), u.value("watches_growing", json())),
                     time_left(u.value("instances_exhaustion_seconds", json()), u.value("instances_growing", json())),
                     usage, u.value("count_mismatch", false) ? "  kernel count != watches present" : "", hot ? reset : "");
  }
  const json& refused = f.users.value("refused_inits", json::array());
  if (refused.empty()) return s;
  s += fmt::format("\n{}REFUSED inotify_init (latest {}){}\n", red, refused.size(), reset);
  for (size_t i = refused.size() > o.rows ? refused.size() - o.rows : 0; i < refused.size(); i++) {
    const json& r = refused[i];
    std::string time = r.value("time", "");
    s += fmt::format("{} pid {} {} uid {} {} (instances {}/{}){}\n", time.size() > 19 ? time.substr(11, 8) : time, num(r["pid"]),
                     escape_for_text(r.value("comm", "")), num(r["uid"]), r.value("errno", "?"), num(r["user_instances"]),
                     num(r["max_user_instances"]), pod_text(r));
  }
  return s;
}

std::string render(const Frame& f, const TopCommandOptions& o) {
  const char* red = o.color ? "\033[1;31m" : "";
  const char* bold = o.color ? "\033[1m" : "";
  const char* reset = o.color ? "\033[0m" : "";
  std::string s;
  WallClock clock;
  size_t nleaks = f.leaks["leaks"].size();
  s += fmt::format("{}inotrace top{} - backend {} - {} watches in {} instances - {}{} leaked{} - {}\n\n", bold, reset,
                   f.status.value("backend", "?"), num(f.status["watches"]), num(f.status["instances"]),
                   nleaks ? red : "", nleaks, nleaks ? reset : "", clock.rfc3339(WallClock::monotonic_now_ns()).substr(11, 8));
  s += render_users(f, o);
  s += fmt::format("\n{}{:>7} {:<16} {:>6} {:>9} {:>9} {:>7}  POD{}\n", bold, "PID", "COMM", "UID", "INSTANCES", "WATCHES", "LEAKED", reset);
  size_t n = 0;
  for (const auto& p : f.processes["processes"]) {
    if (n++ >= o.rows) break;
    bool leaky = p["leaked"].get<size_t>() > 0;
    s += fmt::format("{}{:>7} {:<16} {:>6} {:>9} {:>9} {:>7}  {}{}\n", leaky ? red : "", num(p["pid"]),
                     escape_for_text(p["comm"].get<std::string>()), num(p["uid"]), num(p["instances"]), num(p["watches"]),
                     num(p["leaked"]), pod_name(p), leaky ? reset : "");
  }
  s += render_pods(f, o, bold, reset);
  if (nleaks) {
    s += fmt::format("\n{}LEAKED WATCHES (pod gone, watch alive){}\n", red, reset);
    n = 0;
    for (const auto& l : f.leaks["leaks"]) {
      if (n++ >= o.rows) {
        s += fmt::format("... {} more\n", nleaks - o.rows);
        break;
      }
      std::string pins;
      for (const auto& p : l["pinned_by"])
        pins += fmt::format(" mnt:[{}] {}", num(p["mnt_ns"]), escape_for_text(p["mount_point"].get<std::string>()));
      s += fmt::format("{}{:<12} pod {} pid {} {} wd {} {}{}\n    pinned by:{}\n", red, l["reason"].get<std::string>(),
                       l["pod_uid"].get<std::string>(), num(l["pid"]), escape_for_text(l["comm"].get<std::string>()),
                       num(l["wd"]), escape_for_text(l["path"].get<std::string>()), reset, pins.empty() ? " (nothing mounted)" : pins);
    }
  }
  return s;
}

}  // namespace

int run_top(TopCommandOptions opts) {
  auto log = [](const std::string& s) { log_line(s); };
  std::unique_ptr<NodeMonitor> monitor;
  if (opts.connect.empty()) {
    opts.monitor.session.tracer.log = log;
    opts.monitor.session.reconcile_all_backends = true;
    monitor = std::make_unique<NodeMonitor>(opts.monitor, log);
  }
  if (!isatty(STDOUT_FILENO)) opts.color = false;
  install_stop_signals();
  while (!stop_requested()) {
    Frame f;
    if (monitor) {
      uint64_t until = WallClock::monotonic_now_ns() + (opts.once ? 0 : (uint64_t)(opts.interval_s * 1e9));
      do monitor->step(50);
      while (!stop_requested() && WallClock::monotonic_now_ns() < until);
      monitor->evaluate_now();
      f = Frame{status_json(*monitor), users_json(*monitor), processes_json(*monitor, opts.rows), leaks_json(*monitor),
                pods_json(*monitor)};
    } else {
      std::string token = read_api_token(opts.api_token_file);  // re-read: a restarted daemon has a new one
      auto get = [&](const char* path) { return json::parse(http_get(opts.connect, path, 5000, token)); };
      f = Frame{get("/api/status"), get("/api/users"), get(fmt::format("/api/processes?limit={}", opts.rows).c_str()),
                get("/api/leaks"), get("/api/pods")};
    }
    std::string text = render(f, opts);
    if (opts.once) {
      print_out("{}", text);
      return 0;
    }
    print_out("\033[H\033[2J{}", text);
    flush_out();  // a reader that went away ends top here
    if (!monitor) {
      uint64_t until = WallClock::monotonic_now_ns() + (uint64_t)(opts.interval_s * 1e9);
      while (!stop_requested() && WallClock::monotonic_now_ns() < until) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  return 0;
}

}  // namespace inotrace
