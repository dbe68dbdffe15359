// The repro experiment's report: report.json (schema in docs/JSON.md), report.md, and a plot
// of live watches, pods alive and leaked watches over time (watches.svg, + .png when
// rsvg-convert is installed).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "repro/repro_experiment.h"

namespace inotrace::repro {

nlohmann::ordered_json report_json(const ReproReport& r);
std::string report_markdown(const ReproReport& r);
std::string report_svg(const ReproReport& r);

// Writes report.json, report.md, watches.svg (and watches.png if possible) into dir; returns
// the files written.
std::vector<std::string> write_report(const ReproReport& r, const std::string& dir);

}  // namespace inotrace::repro
