// The daemon's --listen value (civetweb's listening_ports syntax: a comma list of ADDR:PORT,
// [IPV6]:PORT or a bare PORT, which binds every address) and what each entry exposes.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace inotrace {

// The entries of `listen` that are reachable from outside this machine: anything but
// 127.0.0.0/8, ::1 and localhost. A bare port or "+PORT" binds every address, so it counts;
// a host that is not a literal address counts too (it could resolve to anything).
std::vector<std::string> non_loopback_listen_addresses(const std::string& listen);

// The warning the daemon prints when `listen` exposes anything beyond loopback, or none.
std::optional<std::string> listen_warning(const std::string& listen);

// `listen` as civetweb's listening_ports wants it ("localhost:P" becomes "127.0.0.1:P"); throws
// inotrace::Error on an empty entry.
std::string civetweb_listening_ports(const std::string& listen);

}  // namespace inotrace
