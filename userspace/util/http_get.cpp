#include "util/http_get.h"

#include <absl/cleanup/cleanup.h>
#include <civetweb.h>
#include <fmt/format.h>

#include <mutex>

#include "util/error.h"

namespace inotrace {

std::string http_get(const std::string& host_port, const std::string& path, int timeout_ms, const std::string& bearer_token) {
  size_t colon = host_port.rfind(':');
  if (colon == std::string::npos) throw Error(fmt::format("{}: expected HOST:PORT", host_port));
  std::string host = host_port.substr(0, colon);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  int port = 0;
  try {
    port = std::stoi(host_port.substr(colon + 1));
  } catch (...) {
  }
  if (port <= 0 || port > 65535) throw Error(fmt::format("{}: expected HOST:PORT", host_port));
  static std::once_flag init;
  std::call_once(init, [] { mg_init_library(0); });

  char err[256] = "";
  mg_connection* conn = mg_connect_client(host.c_str(), port, 0, err, sizeof(err));
  if (!conn) throw Error(fmt::format("cannot reach an inotrace daemon at {}: {}", host_port, err[0] ? err : "connect failed"));
  absl::Cleanup close_conn = [conn] { mg_close_connection(conn); };
  std::string auth = bearer_token.empty() ? "" : fmt::format("Authorization: Bearer {}\r\n", bearer_token);
  std::string req = fmt::format("GET {} HTTP/1.0\r\nHost: {}\r\n{}\r\n", path, host_port, auth);
  if (mg_write(conn, req.data(), req.size()) != (int)req.size()) throw Error(fmt::format("{}: write failed", host_port));
  if (mg_get_response(conn, err, sizeof(err), timeout_ms) < 0)
    throw Error(fmt::format("{}{}: {}", host_port, path, err[0] ? err : "no response"));
  const mg_response_info* info = mg_get_response_info(conn);
  if (!info || info->status_code != 200)
    throw Error(fmt::format("{}{}: HTTP {} {}", host_port, path, info ? info->status_code : 0,
                            info && info->status_text ? info->status_text : ""));
  std::string body;
  char buf[65536];
  for (int n; (n = mg_read(conn, buf, sizeof(buf))) > 0;) body.append(buf, n);
  return body;
}

}  // namespace inotrace
