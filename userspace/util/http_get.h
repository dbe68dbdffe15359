// A minimal HTTP/1.0 GET for talking to a local inotrace daemon (no dependency for one call).
#pragma once

#include <string>

namespace inotrace {

// GET http://<host:port><path> (with "Authorization: Bearer <bearer_token>" unless it is empty);
// returns the body. Throws inotrace::Error (connection refused, non-200 status) with a clear
// message.
std::string http_get(const std::string& host_port, const std::string& path, int timeout_ms = 5000,
                     const std::string& bearer_token = "");

}  // namespace inotrace
