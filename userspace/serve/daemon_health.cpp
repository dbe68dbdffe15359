#include "serve/daemon_health.h"

#include <fmt/format.h>

#include "util/wall_clock.h"

namespace inotrace {

void DaemonHealth::set_ready(std::string summary) {
  std::lock_guard lock(mu_);
  ready_ = true;
  summary_ = std::move(summary);
  last_step_ns_ = WallClock::monotonic_now_ns();
}

void DaemonHealth::stepped() {
  std::lock_guard lock(mu_);
  last_step_ns_ = WallClock::monotonic_now_ns();
}

HttpResponse DaemonHealth::liveness() const {
  std::lock_guard lock(mu_);
  uint64_t now = WallClock::monotonic_now_ns();
  if (ready_ && now - last_step_ns_ > kStallNs)
    return {503, "text/plain", fmt::format("stalled: the monitor loop has not run for {:.0f} s\n", (now - last_step_ns_) / 1e9), {}};
  return {200, "text/plain", "ok\n", {}};
}

HttpResponse DaemonHealth::readiness() const {
  std::lock_guard lock(mu_);
  if (!ready_) return {503, "text/plain", "starting: attaching BPF programs and seeding the table\n", {}};
  return {200, "text/plain", summary_, {}};
}

}  // namespace inotrace
