// Writes one large document (`snapshot --json`) to a file descriptor while it is being produced,
// in chunks of about 64 KiB: memory stays flat however many rows it has. Unlike LineWriter it does
// not keep whole lines; a document cut short is unusable anyway, so a failed write throws.
#pragma once

#include <string>

namespace inotrace {

class DocumentWriter {
 public:
  // what: named in the error, e.g. "the snapshot".
  DocumentWriter(int fd, std::string what);

  // Append to this, then call maybe_flush().
  std::string& buffer() { return buf_; }
  void maybe_flush() {
    if (buf_.size() >= kChunkBytes) flush();
  }
  // Writes everything appended so far. Throws Error (with the errno's text) when the output
  // refuses it: a closed pipe, a full disk.
  void flush();

 private:
  static constexpr size_t kChunkBytes = 64 * 1024;
  int fd_;
  std::string what_;
  std::string buf_;
};

}  // namespace inotrace
