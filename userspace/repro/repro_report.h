// The repro experiment's report: report.json (schema in docs/JSON.md), report.md, and a plot
// of live watches, pods alive and leaked watches over time (watches.svg, + .png when
// rsvg-convert is installed).
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "repro/repro_experiment.h"
#include "util/output_file.h"

namespace inotrace::repro {

nlohmann::ordered_json report_json(const ReproReport& r);
std::string report_markdown(const ReproReport& r);
std::string report_svg(const ReproReport& r);

// Writes report.json, report.md, watches.svg and (when rsvg-convert can render it) watches.png
// into dir, each opened with open_output_file: never through a symlink, never another user's
// file. Mode CreateNew: none may exist (a fresh --out); Replace (--force): an existing one must be
// a regular file of ours. `log` says why there is no PNG. Returns the files written; throws
// inotrace::Error when one cannot be written.
std::vector<std::string> write_report(const ReproReport& r, const std::string& dir, OutputMode mode,
                                      const std::function<void(const std::string&)>& log);

}  // namespace inotrace::repro
