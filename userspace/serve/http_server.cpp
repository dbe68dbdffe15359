#include "serve/http_server.h"

#include <civetweb.h>
#include <fmt/format.h>

#include <charconv>
#include <cstring>
#include <mutex>

#include "serve/api_token.h"
#include "serve/listen_address.h"
#include "serve/query_params.h"
#include "util/error.h"

namespace inotrace {

namespace {

void send_head(mg_connection* conn, int status, const std::string& type, const std::string& extra) {
  mg_printf(conn, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nCache-Control: no-store\r\nConnection: close\r\n%s\r\n", status,
            mg_get_response_code_text(conn, status), type.c_str(), extra.c_str());
}

void send_whole(mg_connection* conn, bool head_only, const HttpResponse& r, const std::string& extra = "") {
  send_head(conn, r.status, r.content_type, fmt::format("Content-Length: {}\r\n{}", r.body.size(), extra));
  if (!head_only) mg_write(conn, r.body.data(), r.body.size());
}

void send_streamed(mg_connection* conn, bool head_only, bool chunked, HttpResponse& r) {
  send_head(conn, r.status, r.content_type, chunked ? "Transfer-Encoding: chunked\r\n" : "");
  if (head_only) return;
  std::string piece;
  bool more = true;
  while (more) {
    piece.clear();
    try {
      more = r.next_piece(piece);
    } catch (const std::exception&) {
      return;  // the status is sent: all we can do is cut the body short (no chunk terminator)
    }
    if (piece.empty()) continue;
    int n = chunked ? mg_send_chunk(conn, piece.data(), (unsigned)piece.size()) : mg_write(conn, piece.data(), piece.size());
    if (n <= 0) return;  // the client went away
  }
  if (chunked) mg_send_chunk(conn, "", 0);
}

HttpResponse text(int status, std::string body) { return HttpResponse{status, "text/plain; charset=utf-8", std::move(body), {}}; }

}  // namespace

struct HttpServer::Impl {
  HttpServerOptions opts;
  std::map<std::string, HttpRoute> routes;
  mg_context* ctx = nullptr;

  static int on_request(mg_connection* conn, void* self) { return static_cast<Impl*>(self)->serve(conn); }

  int serve(mg_connection* conn) {
    const mg_request_info* ri = mg_get_request_info(conn);
    std::string method = ri->request_method ? ri->request_method : "";
    bool head_only = method == "HEAD";
    auto route = routes.find(ri->local_uri ? ri->local_uri : "");
    HttpResponse r;
    std::string extra;
    if (route == routes.end()) {
      r = text(404, "not found\n");
    } else if (method != "GET" && !head_only) {
      r = text(405, "only GET and HEAD\n");
      extra = "Allow: GET, HEAD\r\n";
    } else if (route->second.access == Access::Token && !authorized(conn)) {
      r = text(401, "the API needs the daemon's token (Authorization: Bearer <token>); see docs/API.md\n");
      extra = "WWW-Authenticate: Bearer realm=\"inotrace\"\r\n";
    } else {
      try {
        HttpRequest req{method, route->first, parse_query(ri->query_string)};
        r = route->second.handler(req);
      } catch (const Error& e) {
        r = text(400, std::string(e.what()) + "\n");
      } catch (const std::exception& e) {
        r = text(500, fmt::format("internal error: {}\n", e.what()));
      }
    }
    if (r.next_piece)
      send_streamed(conn, head_only, ri->http_version && std::strcmp(ri->http_version, "1.1") == 0, r);
    else
      send_whole(conn, head_only, r, extra);
    return r.status;
  }

  bool authorized(mg_connection* conn) const {
    const char* h = mg_get_header(conn, "Authorization");
    std::string_view v = h ? h : "";
    if (!v.starts_with("Bearer ")) return false;
    return api_token_matches(opts.api_token, v.substr(7));
  }
};

HttpServer::HttpServer(const HttpServerOptions& opts, std::map<std::string, HttpRoute> routes)
    : impl_(std::make_unique<Impl>()) {
  static std::once_flag init;
  std::call_once(init, [] { mg_init_library(0); });
  impl_->opts = opts;
  impl_->routes = std::move(routes);
  std::string ports = civetweb_listening_ports(opts.listen), threads = std::to_string(opts.threads),
              timeout = std::to_string(opts.request_timeout_ms);
  // No keep-alive: a connection is one request, so an open socket never waits for a next one.
  const char* options[] = {"listening_ports", ports.c_str(),   "num_threads", threads.c_str(), "request_timeout_ms",
                           timeout.c_str(),   "enable_keep_alive", "no",      "connection_queue", "64",
                           "listen_backlog",  "512",           "max_request_size", "8192", nullptr};
  mg_callbacks callbacks{};
  char err[256] = "";
  unsigned code = 0;
  mg_error_data error{&code, err, sizeof err};
  mg_init_data init_data{&callbacks, nullptr, options};
  impl_->ctx = mg_start2(&init_data, &error);
  if (!impl_->ctx) throw Error(fmt::format("cannot listen on {}: {}", opts.listen, err[0] ? err : "port in use, or a bad address?"));
  mg_set_request_handler(impl_->ctx, "**", &Impl::on_request, impl_.get());
}

HttpServer::~HttpServer() {
  if (impl_->ctx) mg_stop(impl_->ctx);
}

int HttpServer::port() const {
  mg_server_port ports[4];
  int n = mg_get_server_ports(impl_->ctx, 4, ports);
  return n > 0 ? ports[0].port : 0;
}

void expect_only_params(const HttpRequest& r, std::initializer_list<std::string_view> allowed) {
  for (const auto& [k, v] : r.query)
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end())
      throw Error(fmt::format("unknown parameter {} for {}", k, r.path));
}

std::optional<uint64_t> uint_param(const HttpRequest& r, const std::string& key, uint64_t min, uint64_t max) {
  auto it = r.query.find(key);
  if (it == r.query.end()) return std::nullopt;
  const std::string& s = it->second;
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v < min || v > max)
    throw Error(fmt::format("bad {}={}: expected an integer from {} to {}", key, s, min, max));
  return v;
}

}  // namespace inotrace
