#include "serve/http_server.h"

#include <CivetServer.h>
#include <civetweb.h>
#include <fmt/format.h>

#include <cstring>
#include <vector>

#include "serve/query_params.h"
#include "util/error.h"

namespace inotrace {

namespace {

class Route : public CivetHandler {
 public:
  Route(std::string path, HttpServer::Handler h) : path_(std::move(path)), handler_(std::move(h)) {}
  bool handleGet(CivetServer*, mg_connection* conn) override {
    const mg_request_info* info = mg_get_request_info(conn);
    HttpRequest req{path_, parse_query(info->query_string)};
    HttpResponse resp;
    try {
      resp = handler_(req);
    } catch (const std::exception& e) {
      resp = HttpResponse{500, "text/plain", fmt::format("internal error: {}\n", e.what())};
    }
    mg_printf(conn,
              "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n"
              "Connection: close\r\n\r\n",
              resp.status, mg_get_response_code_text(conn, resp.status), resp.content_type.c_str(), resp.body.size());
    mg_write(conn, resp.body.data(), resp.body.size());
    return true;
  }

 private:
  std::string path_;
  HttpServer::Handler handler_;
};

}  // namespace

bool is_loopback_listen(const std::string& listen) {
  std::string host = listen.substr(0, listen.rfind(':'));
  return host.starts_with("127.") || host == "[::1]" || host == "localhost";
}

struct HttpServer::Impl {
  std::vector<std::unique_ptr<Route>> routes;
  std::unique_ptr<CivetServer> server;
};

HttpServer::HttpServer(const std::string& listen, std::map<std::string, Handler> routes) : impl_(std::make_unique<Impl>()) {
  if (listen.find(':') == std::string::npos)
    throw Error(fmt::format("--listen {}: expected ADDR:PORT, e.g. 127.0.0.1:9717", listen));
  std::string port_spec = listen;
  if (port_spec.starts_with("localhost:")) port_spec = "127.0.0.1:" + port_spec.substr(10);
  std::vector<std::string> options = {"listening_ports", port_spec, "num_threads", "4", "request_timeout_ms", "10000",
                                      "enable_keep_alive", "no"};
  try {
    impl_->server = std::make_unique<CivetServer>(options);
  } catch (const CivetException& e) {
    throw Error(fmt::format("cannot listen on {}: {} (port in use, or a bad address?)", listen, e.what()));
  }
  for (auto& [path, h] : routes) {
    impl_->routes.push_back(std::make_unique<Route>(path, std::move(h)));
    impl_->server->addHandler(path + "$", impl_->routes.back().get());
  }
}

HttpServer::~HttpServer() {
  if (impl_->server) impl_->server->close();
}

int HttpServer::port() const {
  auto ports = impl_->server->getListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

}  // namespace inotrace
