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
// The fixed part of an inotrace_snap_watch, laid out as it is. Not the struct itself: that
// carries its 4 KiB path tail, which a decoded record handed back by value copied whole
// (`rep movsq` per watch, 100k times in a snapshot).
struct SnapWatchRecord {
  inotrace_hdr hdr;
  uint64_t group;
  uint64_t ino;
  uint32_t dev;
  int32_t wd;
  uint32_t mask;
  uint8_t path_kind;
  uint8_t _pad0;
  uint16_t path_len;
};
static_assert(sizeof(SnapWatchRecord) == INOTRACE_SNAP_WATCH_FIXED &&
              offsetof(SnapWatchRecord, group) == offsetof(inotrace_snap_watch, group) &&
              offsetof(SnapWatchRecord, ino) == offsetof(inotrace_snap_watch, ino) &&
              offsetof(SnapWatchRecord, dev) == offsetof(inotrace_snap_watch, dev) &&
              offsetof(SnapWatchRecord, wd) == offsetof(inotrace_snap_watch, wd) &&
              offsetof(SnapWatchRecord, mask) == offsetof(inotrace_snap_watch, mask) &&
              offsetof(SnapWatchRecord, path_kind) == offsetof(inotrace_snap_watch, path_kind) &&
              offsetof(SnapWatchRecord, path_len) == offsetof(inotrace_snap_watch, path_len));

// Fills the fixed part and, in *path, the tail as a joined path (leaf-first components).
std::optional<SnapWatchRecord> decode_snap_watch(const void* data, size_t size, std::string* path, DecodeError* error);

}  // namespace inotrace
