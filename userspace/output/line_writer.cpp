#include "output/line_writer.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace inotrace {

namespace {
constexpr size_t kBatchBytes = 64 * 1024;
}

LineWriter::LineWriter(int fd) : fd_(fd) {
  struct stat st {};
  regular_ = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

void LineWriter::add(std::string_view line) {
  batch_.append(line);
  end_line();
}

void LineWriter::end_line() {
  batch_ += '\n';
  batch_lines_++;
  if (batch_.size() >= kBatchBytes) flush();
}

bool LineWriter::broken() const { return last_error_ == EPIPE || last_error_ == EBADF; }

bool LineWriter::flush() {
  if (batch_.empty()) return true;
  size_t done = 0;
  int err = 0;
  while (done < batch_.size()) {
    ssize_t n = write(fd_, batch_.data() + done, batch_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = n < 0 ? errno : ENOSPC;
      break;
    }
    done += n;
  }
  // Whole lines that landed; a cut line is taken back out of a regular file (a pipe cannot take
  // it back, but a pipe does not fill up: it fails only once its reader is gone).
  size_t whole = done;
  if (done < batch_.size()) {
    size_t nl = done ? batch_.rfind('\n', done - 1) : std::string::npos;
    whole = nl == std::string::npos ? 0 : nl + 1;
  }
  if (whole < done && regular_) {
    off_t end = lseek(fd_, 0, SEEK_CUR);
    off_t cut = end - (off_t)(done - whole);
    if (end >= 0 && ftruncate(fd_, cut) == 0) lseek(fd_, cut, SEEK_SET);
  }
  // (Counting the newlines of a batch that landed whole was ~5% of the text path.)
  uint64_t landed = whole == batch_.size() ? batch_lines_ : std::count(batch_.begin(), batch_.begin() + whole, '\n');
  written_ += landed;
  not_written_ += batch_lines_ - landed;
  if (err) last_error_ = err;
  batch_.clear();
  batch_lines_ = 0;
  return err == 0;
}

}  // namespace inotrace
