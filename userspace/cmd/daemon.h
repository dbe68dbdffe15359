// `inotrace daemon`: the live watch table with leak detection, served as JSON and Prometheus
// metrics.
#pragma once

#include <string>

#include "daemon/node_monitor.h"
#include "serve/api_token.h"

namespace inotrace {

constexpr const char* kDefaultListen = "127.0.0.1:9717";

struct DaemonCommandOptions {
  MonitorOptions monitor;
  std::string api_listen = kDefaultListen;  // every route; loopback by default (watched paths)
  std::string metrics_listen;                // "" = none; else /metrics, /healthz, /readyz only
  std::string api_token_file = kDefaultApiTokenFile;  // the JSON API's token, written at start (root only)
  double hooked_reconcile_interval_s = 30;  // safety-net snapshots on fentry/kprobe
  double duration_s = 0;                    // 0 = until SIGINT/SIGTERM
  size_t metrics_top = 20;                  // pods with their own series; the rest sum as pod="other"
};

int run_daemon(DaemonCommandOptions opts);

}  // namespace inotrace
