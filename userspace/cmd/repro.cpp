#include "cmd/repro.h"

#include <fmt/format.h>

#include "util/stop_signal.h"
#include "repro/output_dir.h"
#include "repro/repro_report.h"
#include "util/error.h"
#include "util/log.h"
#include "util/standard_output.h"

namespace inotrace {

int run_repro(ReproCommandOptions opts) {
  auto log = [](const std::string& s) { log_line(s); };
  auto& e = opts.experiment;
  if (e.pods < 1) throw Error("--pods must be at least 1");
  if (e.pin_fraction < 0 || e.pin_fraction > 1) throw Error("--pin must be between 0 and 1");
  // Root writes here and mounts under it: a directory nobody else can redirect, empty unless
  // --force; the reports are never written through a symlink (repro_report.h).
  repro::OutputDir out = repro::prepare_output_dir(e.out_dir, opts.force);
  e.out_dir = out.path;
  e.session.tracer.log = log;
  install_stop_signals();
  log(fmt::format("repro: {} pods, {:.0f}% pinned, {} pods/s; scratch root and reports under {}", e.pods,
                  e.pin_fraction * 100, e.rate, e.out_dir));
  auto report = repro::run_experiment(e, log);
  auto written =
      repro::write_report(report, e.out_dir, opts.force ? OutputMode::Replace : OutputMode::CreateNew, log);
  auto j = repro::report_json(report);
  log(fmt::format("repro: {}", j["verdict"]["summary"].get<std::string>()));
  for (const auto& f : written) log(fmt::format("repro: wrote {}", f));
  if (opts.json) print_out("{}\n", j.dump(2));
  return report.interrupted ? 130 : 0;
}

}  // namespace inotrace
