// `inotrace repro`: the kubelet watch-leak reproduction experiment.
#pragma once

#include "repro/repro_experiment.h"

namespace inotrace {

struct ReproCommandOptions {
  repro::ReproOptions experiment;
  bool json = false;
  bool force = false;  // write into a non-empty --out (replacing our own earlier reports)
};

int run_repro(ReproCommandOptions opts);

}  // namespace inotrace
