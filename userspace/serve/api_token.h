// The JSON API's bearer token. The API shows every watched path on the node, which is for root
// only; Debian's civetweb cannot listen on a Unix socket, so the API listens on loopback and
// asks for a token that only root can read: 32 bytes from getrandom(2), hex, in a 0600 file in
// a directory only its owner may write (by default /run/inotrace, created 0700). A new token
// every start; the daemon removes its file when it stops.
#pragma once

#include <string>
#include <string_view>

namespace inotrace {

constexpr const char* kDefaultApiTokenFile = "/run/inotrace/api-token";

// Writes a fresh token to `path` and returns it. The directory is created (0700) if missing; it
// must belong to the caller and be writable by nobody else. A previous file there is replaced;
// the new one is created O_EXCL|O_NOFOLLOW, mode 0600. Throws inotrace::Error.
std::string create_api_token(const std::string& path);

// A client's side: the token in `path`, which must be a regular file (not a symlink) of root or
// the caller that no other user can read. Throws inotrace::Error saying what to do.
std::string read_api_token(const std::string& path);

// Removes `path` if it still holds `token` (a newer daemon's file is left alone).
void remove_api_token(const std::string& path, const std::string& token);

// Compares in time independent of where the strings differ.
bool api_token_matches(std::string_view expected, std::string_view given);

}  // namespace inotrace
