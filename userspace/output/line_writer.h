// Writes whole lines to a file descriptor: a line is in the output completely or not at all.
// Lines are batched and written with write(2); when a write stops short (full filesystem, quota,
// file size limit) a regular file is cut back to its last complete line, and every line that
// did not make it is counted. Nothing throws.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace inotrace {

class LineWriter {
 public:
  explicit LineWriter(int fd);
  ~LineWriter() { flush(); }

  // Queues one line (without its '\n'); written at the next flush(), or now if the batch is large.
  void add(std::string_view line);
  // Queues one line that `fill(std::string& batch)` appends straight to the batch (without its
  // '\n'): no string of its own per line.
  template <typename Fill>
  void add_by(Fill&& fill) {
    size_t before = batch_.size();
    try {
      fill(batch_);
    } catch (...) {
      batch_.resize(before);  // a line is written whole or not at all
      throw;
    }
    end_line();
  }
  // Writes what is queued. Returns false if some of it could not be written.
  bool flush();

  uint64_t lines_written() const { return written_; }
  uint64_t lines_not_written() const { return not_written_; }
  // errno of the latest failed write (0 if none failed).
  int last_error() const { return last_error_; }
  // The failure cannot go away (a closed pipe, a bad descriptor): writing again is pointless.
  bool broken() const;

 private:
  void end_line();

  int fd_;
  bool regular_ = false;  // a regular file, which can be cut back to its last whole line
  std::string batch_;
  uint64_t batch_lines_ = 0;
  uint64_t written_ = 0, not_written_ = 0;
  int last_error_ = 0;
};

}  // namespace inotrace
