// The path of a directory however long, the way getcwd(3) once did it: step to "..", find the
// name of where we came from among its entries, repeat. readlink of /proc/self/fd/N and of
// /proc/PID/cwd give up at PATH_MAX (ENAMETOOLONG); a directory chain made with mkdirat can be
// far deeper than that.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace inotrace {

struct DotdotWalk {
  std::string path;          // "/a/b" below where the walk stopped ("" if it started there)
  bool reached_stop = false;  // stopped at `stop`, not at the top of the mount tree
};

// Walks up from `dir_fd` (an O_PATH fd is enough) to the directory whose (st_dev, st_ino) is
// `stop_dev`/`stop_ino`, or to the top of its mount tree (where ".." is itself). nullopt when a
// step fails (a directory vanished, or a name could not be found). Crosses mounts upward as
// ".." does. Never throws.
std::optional<DotdotWalk> walk_dotdot(int dir_fd, dev_t stop_dev, ino_t stop_ino);

}  // namespace inotrace
