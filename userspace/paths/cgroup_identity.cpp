#include "paths/cgroup_identity.h"

#include <algorithm>
#include <array>
#include <tuple>
#include <vector>

namespace inotrace {

std::optional<std::string> pod_uid_from_cgroup_name(std::string_view name) {
  // "pod" starts the name (cgroupfs driver) or follows a '-' (systemd driver); the "pod" inside
  // "kubepods" does neither.
  size_t at = name.rfind("pod");
  while (at != std::string_view::npos && at != 0 && name[at - 1] != '-')
    at = at ? name.rfind("pod", at - 1) : std::string_view::npos;
  if (at == std::string_view::npos) return std::nullopt;
  std::string uid(name.substr(at + 3));
  if (uid.ends_with(".slice")) uid.resize(uid.size() - 6);
  if (uid.empty()) return std::nullopt;
  std::replace(uid.begin(), uid.end(), '_', '-');  // the systemd driver escapes dashes
  for (char c : uid)
    if (!(isalnum((unsigned char)c) || c == '-')) return std::nullopt;
  return uid;
}

namespace {

std::vector<std::string_view> components(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    size_t slash = path.find('/');
    std::string_view c = path.substr(0, slash);
    if (!c.empty()) out.push_back(c);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

bool is_kubepods(std::string_view c) { return c == "kubepods" || c.ends_with("kubepods.slice"); }

std::string qos_of(std::string_view c) {
  for (std::string_view q : {"burstable", "besteffort"})
    if (c == q || c.ends_with("kubepods-" + std::string(q) + ".slice")) return std::string(q);
  return "";
}

}  // namespace

bool is_container_id(std::string_view id) {
  return id.size() >= 12 && id.size() <= 64 &&
         std::all_of(id.begin(), id.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

namespace {

// "<id>", "crio-<id>", "cri-containerd-<id>.scope", ...: the id and the runtime that named it.
std::optional<std::pair<std::string, std::string>> container_of(std::string_view c) {
  if (c.ends_with(".scope")) c.remove_suffix(6);
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 4> kPrefixes{{
      {"cri-containerd-", "containerd"}, {"crio-conmon-", "cri-o"}, {"crio-", "cri-o"}, {"docker-", "docker"}}};
  for (auto [prefix, runtime] : kPrefixes)
    if (c.starts_with(prefix) && is_container_id(c.substr(prefix.size())))
      return std::pair{std::string(c.substr(prefix.size())), std::string(runtime)};
  if (is_container_id(c)) return std::pair{std::string(c), std::string()};
  return std::nullopt;
}

}  // namespace

CgroupIdentity identify_cgroup(std::string_view cgroup_path) {
  CgroupIdentity id;
  std::vector<std::string_view> parts = components(cgroup_path);
  auto kubepods = std::find_if(parts.begin(), parts.end(), is_kubepods);
  if (kubepods == parts.end()) {
    // A host process: its systemd unit, if the system manager placed it (a user manager's units
    // live under user.slice and are the user's to name).
    if (parts.size() >= 2 && parts[0] == "system.slice" &&
        (parts[1].ends_with(".service") || (parts[1].ends_with(".scope") && !container_of(parts[1]))))
      id.unit = std::string(parts[1]);
    return id;
  }
  auto next = kubepods + 1;
  id.qos = "guaranteed";
  if (next != parts.end() && !qos_of(*next).empty()) id.qos = qos_of(*next++);
  if (next == parts.end()) return CgroupIdentity{};  // kubepods itself, or a QoS class: no pod
  auto uid = pod_uid_from_cgroup_name(*next++);
  if (!uid) return CgroupIdentity{};
  id.pod_uid = std::move(*uid);
  if (next != parts.end())
    if (auto c = container_of(*next)) std::tie(id.container_id, id.runtime) = std::move(*c);
  return id;
}

std::optional<std::string> cgroup_path_of(std::string_view text) {
  auto p = cgroup_placement_of(text);
  if (!p) return std::nullopt;
  return std::move(p->path);
}

std::optional<CgroupPlacement> cgroup_placement_of(std::string_view text) {
  // "hierarchy-id:controllers:path"; the path may contain ':' itself. On a hybrid host the
  // unified line follows systemd's placement while the runtime placed the process in the v1
  // controllers: those win; the unified line ("0::") names it where it is the only hierarchy.
  static constexpr std::array<std::string_view, 4> kPreferred{"memory", "pids", "cpu", "name=systemd"};
  std::optional<CgroupPlacement> best;
  size_t best_rank = SIZE_MAX;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    size_t c1 = line.find(':');
    size_t c2 = c1 == std::string_view::npos ? c1 : line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) continue;
    std::string_view hierarchy = line.substr(0, c1), controllers = line.substr(c1 + 1, c2 - c1 - 1),
                     path = line.substr(c2 + 1);
    if (path.empty() || path[0] != '/') continue;
    size_t rank = hierarchy == "0" && controllers.empty() ? kPreferred.size() + 1 : kPreferred.size();
    for (size_t i = 0; i < kPreferred.size(); i++) {
      std::string_view rest = controllers;
      while (!rest.empty()) {
        size_t comma = rest.find(',');
        if (rest.substr(0, comma) == kPreferred[i]) rank = std::min(rank, i);
        rest.remove_prefix(comma == std::string_view::npos ? rest.size() : comma + 1);
      }
    }
    if (rank < best_rank) best_rank = rank, best = CgroupPlacement{std::string(path), std::string(controllers)};
  }
  return best;
}

}  // namespace inotrace
