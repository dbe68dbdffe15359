#include "output/document_writer.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/standard_output.h"

namespace inotrace {

DocumentWriter::DocumentWriter(int fd, std::string what) : fd_(fd), what_(std::move(what)) {
  buf_.reserve(kChunkBytes + 16 * 1024);  // a chunk plus the row that crosses its end
}

void DocumentWriter::flush() {
  size_t done = 0;
  while (done < buf_.size()) {
    ssize_t n = write(fd_, buf_.data() + done, buf_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : ENOSPC;
      buf_.clear();
      throw_output_error(what_.c_str(), err);
    }
    done += n;
  }
  buf_.clear();
}

}  // namespace inotrace
