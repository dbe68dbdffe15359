#include "cmd/repro.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include "cmd/stop_signal.h"
#include "repro/repro_report.h"
#include "util/error.h"
#include "util/log.h"

namespace inotrace {

int run_repro(ReproCommandOptions opts) {
  auto log = [](const std::string& s) { log_line(s); };
  auto& e = opts.experiment;
  if (e.pods < 1) throw Error("--pods must be at least 1");
  if (e.pin_fraction < 0 || e.pin_fraction > 1) throw Error("--pin must be between 0 and 1");
  if (e.out_dir.empty()) throw Error("--out DIR is required");
  mkdir(e.out_dir.c_str(), 0755);
  char real[PATH_MAX];
  if (!realpath(e.out_dir.c_str(), real)) throw Error(fmt::format("--out {}: {}", e.out_dir, strerror(errno)));
  e.out_dir = real;
  e.session.tracer.log = log;
  install_stop_signals();
  log(fmt::format("repro: {} pods, {:.0f}% pinned, {} pods/s; scratch root and reports under {}", e.pods,
                  e.pin_fraction * 100, e.rate, e.out_dir));
  auto report = repro::run_experiment(e, log);
  auto files = repro::write_report(report, e.out_dir);
  auto j = repro::report_json(report);
  log(fmt::format("repro: {}", j["verdict"]["summary"].get<std::string>()));
  for (const auto& f : files) log(fmt::format("repro: wrote {}", f));
  if (opts.json) fmt::print("{}\n", j.dump(2));
  return report.interrupted ? 130 : 0;
}

}  // namespace inotrace
