// A small HTTP server for the daemon's API and metrics (civetweb). It routes by exact,
// case-sensitive path; answers GET and HEAD (405 to any other method); asks for the API token
// on the routes that show private data (401 without it); turns inotrace::Error from a handler
// into 400. Idle and slow connections each hold one of many worker threads for at most the
// request timeout, so a handful of them cannot starve /healthz and /metrics.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace inotrace {

struct HttpRequest {
  std::string method;  // GET or HEAD
  std::string path;
  std::map<std::string, std::string> query;  // percent-decoded; a repeated key is refused (400)
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  // When set, the body is produced piece by piece instead: each call appends the next piece to
  // `out` and returns false once nothing follows. The server writes each piece before asking for
  // the next, holding none of the caller's locks, so a slow reader delays only itself. Sent
  // chunked to HTTP/1.1 clients, delimited by the connection's close to HTTP/1.0 ones.
  std::function<bool(std::string& out)> next_piece;
};

enum class Access {
  Open,   // /healthz, /metrics: no paths, no private data
  Token,  // the JSON API: "Authorization: Bearer <token>"
};

struct HttpRoute {
  Access access = Access::Token;
  std::function<HttpResponse(const HttpRequest&)> handler;
};

struct HttpServerOptions {
  std::string listen;     // civetweb's listening_ports syntax, e.g. 127.0.0.1:9717 (see listen_address.h)
  std::string api_token;  // what Access::Token routes require; empty refuses them all
  // Worker threads: each connection holds one while it is read and answered. 256 lets ~250
  // idle or slow connections sit there and /healthz still answer at once; a thread costs ~20 KB.
  int threads = 256;
  int request_timeout_ms = 10000;  // whole request head, and each write
};

class HttpServer {
 public:
  // Throws inotrace::Error when it cannot listen.
  HttpServer(const HttpServerOptions& opts, std::map<std::string, HttpRoute> routes);
  ~HttpServer();
  int port() const;  // the first bound port (useful with port 0)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Query parameters, strictly: throw inotrace::Error (400) on what they do not expect.
void expect_only_params(const HttpRequest& r, std::initializer_list<std::string_view> allowed);
// A decimal integer in [min, max] (no sign, no spaces, no overflow), or nullopt when absent.
std::optional<uint64_t> uint_param(const HttpRequest& r, const std::string& key, uint64_t min, uint64_t max);

}  // namespace inotrace
