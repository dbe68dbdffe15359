// PNG of an SVG document by rsvg-convert (Debian: librsvg2-bin), spawned with an argv (never a
// shell, so no path or text of ours is ever parsed as a command): the SVG goes to its stdin, the
// PNG comes from its stdout, so it opens no file of ours by name either.
#pragma once

#include <optional>
#include <string>

namespace inotrace {

// The PNG, or nullopt with the reason in *why_not (e.g. rsvg-convert not installed).
std::optional<std::string> svg_to_png(const std::string& svg, std::string* why_not);

}  // namespace inotrace
