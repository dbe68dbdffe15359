// SIGINT/SIGTERM -> a flag polled by the long-running commands, so they can detach cleanly,
// flush and print their summary.
#pragma once

namespace inotrace {

void install_stop_signals();
bool stop_requested();
void request_stop();

}  // namespace inotrace
