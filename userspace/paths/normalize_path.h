// One spelling per path, so that trace, snapshot and the daemon can be joined by path: the
// caller's string ("./sub/", "sub//x", "/a/./b") is written as the kernel's walk would name it.
// Only what is lexically safe: "." components, repeated and trailing slashes. ".." is dropped
// only where the result is checked to lead to the same inode (paths/event_paths.cpp): removing
// "a/.." is wrong when a is a symlink.
#pragma once

#include <string>
#include <string_view>

namespace inotrace {

// "/a//./b/" -> "/a/b"; "./x" -> "x"; "." -> "."; "/" -> "/"; "" -> "".
std::string normalize_path(std::string_view path);
// Whether normalize_path(path) == path: the common case, checked without a copy.
bool is_normal_path(std::string_view path);

// "/a/b/../c" -> "/a/c", each ".." dropping the component before it, lexically. Only a guess
// (wrong across symlinks): see without_dotdot_if_same.
std::string drop_dotdot_lexically(std::string_view absolute_path);
bool has_dotdot(std::string_view path);

}  // namespace inotrace
