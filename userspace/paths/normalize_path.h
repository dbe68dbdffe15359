// One spelling per path, so that trace, snapshot and the daemon can be joined by path: the
// caller's string ("./sub/", "sub//x", "/a/./b") is written as the kernel's walk would name it.
// Only what is lexically safe: "." components, repeated and trailing slashes. ".." is kept:
// removing "a/.." is wrong when a is a symlink, and the kernel's own walk (hooked backends,
// snapshots) already names those targets canonically.
#pragma once

#include <string>
#include <string_view>

namespace inotrace {

// "/a//./b/" -> "/a/b"; "./x" -> "x"; "." -> "."; "/" -> "/"; "" -> "".
std::string normalize_path(std::string_view path);

}  // namespace inotrace
