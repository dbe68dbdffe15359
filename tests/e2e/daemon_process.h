// e2e support: the real `inotrace daemon` binary as a child process, and a raw HTTP client that
// reports what the server really answered (status, headers, body) without interpreting it.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace inotrace::e2e {

inline const char* inotrace_bin() { return getenv("INOTRACE_BIN") ? getenv("INOTRACE_BIN") : INOTRACE_BIN_DEFAULT; }

// A loopback TCP port the kernel just found free (bound to port 0, read back, released): a port
// guessed from the pid can be a client connection's local port ("cannot listen").
// Throws when the kernel gives none: a daemon told to listen on port 0 would fail obscurely later.
inline int free_loopback_port() {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) throw std::system_error(errno, std::generic_category(), "free_loopback_port: socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  const char* step = bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0                  ? "bind 127.0.0.1:0"
                     : getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0 ? "getsockname"
                                                                                   : nullptr;
  if (step) {
    int err = errno;
    close(s);
    throw std::system_error(err, std::generic_category(), std::string("free_loopback_port: ") + step);
  }
  close(s);
  return ntohs(a.sin_port);
}

// A connected TCP socket to 127.0.0.1:port (-1 on failure).
inline int connect_loopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 && connect(fd, (sockaddr*)&a, sizeof a) != 0) {
    close(fd);
    fd = -1;
  }
  return fd;
}

struct RawReply {
  int status = 0;  // 0: no answer (refused, timed out, closed early)
  std::string error;
  std::string headers;
  std::string body;
};

// Sends `request` verbatim, reads until the server closes (or timeout_ms passes in total).
inline RawReply raw_http(int port, const std::string& request, int timeout_ms = 5000) {
  RawReply r;
  int fd = connect_loopback(port);
  if (fd < 0) {
    r.error = "connect failed";
    return r;
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::string in;
  if (write(fd, request.data(), request.size()) != (ssize_t)request.size()) r.error = "write failed";
  char buf[65536];
  while (r.error.empty()) {
    int left = (int)std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || poll(&p, 1, left) <= 0) {
      r.error = "timed out";
      break;
    }
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    in.append(buf, n);
  }
  close(fd);
  size_t eoh = in.find("\r\n\r\n");
  if (eoh == std::string::npos) {
    if (r.error.empty()) r.error = "no complete response: " + in.substr(0, 200);
    return r;
  }
  r.headers = in.substr(0, eoh + 2);
  r.body = in.substr(eoh + 4);
  if (r.headers.size() > 12) r.status = atoi(r.headers.c_str() + 9);
  return r;
}

inline std::string get_request(const std::string& target, const std::string& token = "", const std::string& method = "GET") {
  std::string req = method + " " + target + " HTTP/1.0\r\nHost: 127.0.0.1\r\n";
  if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
  return req + "\r\n";
}

// HTTP/1.1 chunked body -> plain body.
inline std::string dechunk(const std::string& s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    size_t eol = s.find("\r\n", i);
    if (eol == std::string::npos) break;
    size_t n = strtoul(s.substr(i, eol - i).c_str(), nullptr, 16);
    if (n == 0) break;
    out += s.substr(eol + 2, n);
    i = eol + 2 + n + 2;
  }
  return out;
}

// The daemon, started with `inotrace daemon --listen 127.0.0.1:<port> <args...>`, output to a log.
class DaemonProcess {
 public:
  // port 0: one the kernel finds free (free_loopback_port), never a guess in the ephemeral range.
  explicit DaemonProcess(std::vector<std::string> args, int port = 0) {
    port_ = port ? port : free_loopback_port();
    listen_ = "127.0.0.1:" + std::to_string(port_);
    log_ = "/tmp/inotrace-e2e-daemon." + std::to_string(getpid()) + "." + std::to_string(port_) + ".log";
    std::vector<std::string> argv = {inotrace_bin(), "daemon", "--listen", listen_};
    argv.insert(argv.end(), args.begin(), args.end());
    pid_ = fork();
    if (pid_ == 0) {
      int fd = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 2);
      dup2(fd, 1);
      std::vector<char*> cargv;
      for (auto& a : argv) cargv.push_back(a.data());
      cargv.push_back(nullptr);
      execv(cargv[0], cargv.data());
      _exit(127);
    }
  }
  ~DaemonProcess() { stop(); }
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  // Ready as the DaemonSet's probe sees it: /readyz answers 200 once the BPF programs are
  // attached and the first snapshot seeded the table (/healthz answers from the start).
  bool wait_ready(std::chrono::seconds timeout) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      if (raw_http(port_, get_request("/readyz"), 500).status == 200) return true;
      int st = 0;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
  // Waits for the daemon to exit by itself (e.g. on a start-up error); kills it after timeout.
  int stop_when_exited(std::chrono::seconds timeout) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (pid_ > 0 && std::chrono::steady_clock::now() < until) {
      int st = 0;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        return status_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return stop();
  }
  int stop() {
    if (pid_ <= 0) return status_;
    kill(pid_, SIGTERM);
    int st = 0;
    waitpid(pid_, &st, 0);
    pid_ = -1;
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return status_;
  }
  std::string log() const {
    std::ifstream f(log_);
    return std::string(std::istreambuf_iterator<char>(f), {});
  }
  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  const std::string& listen() const { return listen_; }

 private:
  pid_t pid_ = -1;
  int status_ = -1;
  int port_ = 0;
  std::string listen_, log_;
};

}  // namespace inotrace::e2e
