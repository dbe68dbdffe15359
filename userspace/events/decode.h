// Raw ring-buffer / iterator records -> Event. Validates every size against the ABI, since a
// record that does not parse must be reported, never guessed at.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "events/event.h"

namespace inotrace {

struct DecodeError {
  std::string message;
};

// Decodes one live event record (inotrace_watch_event or inotrace_instance_event).
// Returns nullopt and fills *error for malformed input.
std::optional<Event> decode_event(const void* data, size_t size, DecodeError* error);
// The same into an Event kept by the caller: its strings' buffers are reused, so a stream of
// records is decoded without allocating once they have grown. False (and error set) for a
// malformed record; ev's contents are then unspecified.
bool decode_event_into(const void* data, size_t size, Event& ev, DecodeError* error);

// Joins leaf-first, NUL-terminated components (INOTRACE_PATH_DENTRY / _KERNFS) into
// "/root/.../leaf". An empty list is the filesystem's root: "/".
std::string join_leaf_first_components(const char* data, size_t len);
void assign_leaf_first_components(std::string& out, const char* data, size_t len);

// Reads a NUL-terminated string of at most len bytes (the user-path tail).
std::string bounded_cstring(const char* data, size_t len);
void assign_bounded_cstring(std::string& out, const char* data, size_t len);

}  // namespace inotrace

namespace inotrace {

// Iterator records (snapshot), validated like live events.
std::optional<inotrace_snap_instance> decode_snap_instance(const void* data, size_t size, DecodeError* error);
// Fills the fixed part and, in *path, the tail as a joined path (leaf-first components).
std::optional<inotrace_snap_watch> decode_snap_watch(const void* data, size_t size, std::string* path,
                                                      DecodeError* error);

}  // namespace inotrace
