// Where `inotrace repro` (root) writes: --out, the scratch root under it, the reports in it.
// Mounts and unmounts are made by path, so nobody else may be able to redirect that path: the
// directory and every ancestor must be owned by root or the caller and not writable by others,
// unless sticky (like /tmp, where others cannot rename or delete what we create).
#pragma once

#include <string>

#include "util/unique_fd.h"

namespace inotrace::repro {

// Throws inotrace::Error naming the directory on the way that others could swap or redirect.
// `path` must be absolute and canonical (no symlinks).
void require_trusted_directory(const std::string& path);

struct OutputDir {
  std::string path;  // canonical
  UniqueFd fd;
};

// --out: created (0755) if missing; refused if it is "/", not trusted (above), or holds anything
// but scratch roots (inotrace-pods.*) and force is false. Throws inotrace::Error.
OutputDir prepare_output_dir(const std::string& requested, bool force);

}  // namespace inotrace::repro
