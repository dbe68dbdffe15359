#include "util/http_get.h"

#include <fmt/format.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/error.h"

namespace inotrace {

std::string http_get(const std::string& host_port, const std::string& path, int timeout_ms, const std::string& bearer_token) {
  size_t colon = host_port.rfind(':');
  if (colon == std::string::npos) throw Error(fmt::format("{}: expected HOST:PORT", host_port));
  std::string host = host_port.substr(0, colon), port = host_port.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res))
    throw Error(fmt::format("{}: {}", host_port, gai_strerror(rc)));
  int fd = -1;
  int last_errno = 0;
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
    last_errno = errno;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0)
    throw Error(fmt::format("cannot reach an inotrace daemon at {}: {}", host_port, strerror(last_errno)));
  std::string auth = bearer_token.empty() ? "" : fmt::format("Authorization: Bearer {}\r\n", bearer_token);
  std::string req = fmt::format("GET {} HTTP/1.0\r\nHost: {}\r\n{}\r\n", path, host_port, auth);
  if (write(fd, req.data(), req.size()) != (ssize_t)req.size()) {
    close(fd);
    throw Error(fmt::format("{}: write failed: {}", host_port, strerror(errno)));
  }
  std::string resp;
  char buf[65536];
  while (true) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) {
      close(fd);
      throw Error(fmt::format("{}{}: timed out", host_port, path));
    }
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    resp.append(buf, n);
  }
  close(fd);
  size_t eoh = resp.find("\r\n\r\n");
  if (eoh == std::string::npos) throw Error(fmt::format("{}{}: malformed HTTP response", host_port, path));
  std::string status = resp.substr(0, resp.find("\r\n"));
  if (status.find(" 200 ") == std::string::npos) throw Error(fmt::format("{}{}: {}", host_port, path, status));
  return resp.substr(eoh + 4);
}

}  // namespace inotrace
