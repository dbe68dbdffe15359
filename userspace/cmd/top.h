// `inotrace top`: a refreshing terminal view of the live watch table — processes by watches,
// leaks highlighted, per-user usage against the limit. Standalone (its own BPF session) or
// reading a running daemon (--connect).
#pragma once

#include <string>

#include "daemon/node_monitor.h"
#include "serve/api_token.h"

namespace inotrace {

struct TopCommandOptions {
  MonitorOptions monitor;   // standalone mode
  std::string connect;      // ADDR:PORT of a daemon; empty = standalone
  std::string api_token_file = kDefaultApiTokenFile;  // the daemon's API token (--connect)
  double interval_s = 2;
  size_t rows = 15;
  bool once = false;        // print one frame and exit (no screen clearing)
  bool color = true;
};

int run_top(TopCommandOptions opts);

}  // namespace inotrace
