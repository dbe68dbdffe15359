// An HTTP GET to a local inotrace daemon, through civetweb's client (the library the daemon serves with).
#pragma once

#include <string>

namespace inotrace {

// GET http://<host:port><path> (with "Authorization: Bearer <bearer_token>" unless it is empty);
// returns the body. Throws inotrace::Error (connection refused, non-200 status) with a clear
// message.
std::string http_get(const std::string& host_port, const std::string& path, int timeout_ms = 5000,
                     const std::string& bearer_token = "");

}  // namespace inotrace
