// A watched inode's file handle, as /proc/PID/fdinfo prints it: what open_by_handle_at needs
// to reopen the inode on a mount of its filesystem.
#pragma once

#include <cstdint>
#include <vector>

namespace inotrace {

struct FileHandle {
  uint32_t type = 0;           // fhandle-type: FILEID_* (1 = ino32_gen, 0x81 = kernfs/procfs...)
  std::vector<uint8_t> bytes;  // f_handle; size() == fhandle-bytes
  bool operator==(const FileHandle&) const = default;
};

}  // namespace inotrace
