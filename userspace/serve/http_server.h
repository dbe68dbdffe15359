// A small HTTP server for the daemon's API and metrics (civetweb). Loopback unless the user
// gives another address.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

namespace inotrace {

struct HttpRequest {
  std::string path;
  std::map<std::string, std::string> query;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;
  // listen: "ADDR:PORT" (e.g. 127.0.0.1:9717, [::1]:9717). Throws inotrace::Error on failure.
  HttpServer(const std::string& listen, std::map<std::string, Handler> routes);
  ~HttpServer();
  int port() const;  // the bound port (useful with port 0)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// True for 127.0.0.0/8, ::1 and "localhost".
bool is_loopback_listen(const std::string& listen);

}  // namespace inotrace
