#include "serve/listen_address.h"

#include <absl/strings/str_join.h>
#include <absl/strings/str_split.h>
#include <absl/strings/strip.h>
#include <arpa/inet.h>
#include <fmt/format.h>

#include "util/error.h"

namespace inotrace {

namespace {

std::vector<std::string> entries(const std::string& listen) {
  std::vector<std::string> out;
  for (absl::string_view e : absl::StrSplit(listen, ',')) out.emplace_back(absl::StripAsciiWhitespace(e));
  return out;
}

bool is_loopback_entry(std::string e) {
  // civetweb's per-port flags: a trailing 's' (TLS) or 'r' (redirect).
  while (!e.empty() && (e.back() == 's' || e.back() == 'r')) e.pop_back();
  size_t colon = e.rfind(':');
  if (colon == std::string::npos) return false;  // bare port: every address
  std::string host = e.substr(0, colon);
  if (host == "localhost") return true;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    in6_addr a6{};
    if (inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &a6) != 1) return false;
    if (IN6_IS_ADDR_LOOPBACK(&a6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
  }
  in_addr a4{};
  return inet_pton(AF_INET, host.c_str(), &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

}  // namespace

std::vector<std::string> non_loopback_listen_addresses(const std::string& listen) {
  std::vector<std::string> out;
  for (const auto& e : entries(listen))
    if (!is_loopback_entry(e)) out.push_back(e);
  return out;
}

std::optional<std::string> listen_warning(const std::string& listen) {
  auto exposed = non_loopback_listen_addresses(listen);
  if (exposed.empty()) return std::nullopt;
  return fmt::format(
      "warning: serving beyond loopback on {} (--listen {}): /metrics and /healthz are open to the network there, "
      "the JSON API needs its token",
      absl::StrJoin(exposed, ", "), listen);
}

std::string civetweb_listening_ports(const std::string& listen) {
  std::vector<std::string> out;
  for (auto e : entries(listen)) {
    if (e.empty()) throw Error(fmt::format("--listen {}: empty address in the list", listen));
    if (e.starts_with("localhost:")) e = "127.0.0.1:" + e.substr(10);
    out.push_back(e);
  }
  return absl::StrJoin(out, ",");
}

}  // namespace inotrace
