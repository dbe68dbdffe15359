#include "util/stop_signal.h"

#include <csignal>

namespace inotrace {

namespace {
volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }
}  // namespace

void install_stop_signals() {
  struct sigaction sa{};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: let poll() return EINTR at once
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a closed pipe becomes a write error, handled as a stop
}

bool stop_requested() { return g_stop != 0; }
void request_stop() { g_stop = 1; }

}  // namespace inotrace
