// The running executable's GNU build id and where it is loaded: an identity for what is built
// into it (the BPF objects' ELF images) that costs no read of those bytes.
//
// Why: the boot cache named a CO-RE BTF after a hash of its object's 1.7 MB image, and that
// first touch of the image's pages cost 0.7-9 ms of a start-up that is ~35 ms in all. The
// linker's build id changes with every byte of the binary, the image's offset in it with
// nothing else.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace inotrace {

// "<build id>-<offset>-<size>" for bytes that lie in one read-only loaded segment of the main
// executable, or nullopt (no build id, or bytes elsewhere: a library's, writable data, the
// heap): then the caller identifies them otherwise.
std::optional<std::string> executable_bytes_identity(const void* bytes, size_t size);

}  // namespace inotrace
