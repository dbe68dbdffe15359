// shared_kernel_btf: raw BTF parsed from a private mapping of the file, anything else (an ELF
// given with --btf) read by libbpf as before; a file that is neither is a clear error.
#include <bpf/btf.h>
#include <gtest/gtest.h>
#include <linux/btf.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "loader/kernel_btf.h"
#include "util/error.h"

namespace inotrace {
namespace {

std::string temp_file(const std::string& bytes) {
  char name[] = "/tmp/inotrace-btf-test.XXXXXX";
  int fd = mkstemp(name);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(write(fd, bytes.data(), bytes.size()), (ssize_t)bytes.size());
  close(fd);
  return name;
}

// A small raw BTF: int, a struct with one int member named `inode`.
std::string small_raw_btf() {
  btf* b = btf__new_empty();
  int i = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
  int s = btf__add_struct(b, "inode", 4);
  btf__add_field(b, "i_ino", i, 0, 0);
  EXPECT_GT(s, 0);
  uint32_t size = 0;
  const void* raw = btf__raw_data(b, &size);
  std::string out(static_cast<const char*>(raw), size);
  btf__free(b);
  return out;
}

TEST(KernelBtf, RawBtfFileParsesToTheSameTypes) {
  std::string path = temp_file(small_raw_btf());
  {
    KernelBtfPtr mapped = shared_kernel_btf(path);
    btf* read = btf__parse(path.c_str(), nullptr);
    ASSERT_TRUE(read);
    EXPECT_EQ(btf__type_cnt(mapped.get()), 3u);
    EXPECT_EQ(btf__type_cnt(mapped.get()), btf__type_cnt(read));
    EXPECT_EQ(btf__find_by_name_kind(mapped.get(), "inode", BTF_KIND_STRUCT),
              btf__find_by_name_kind(read, "inode", BTF_KIND_STRUCT));
    btf__free(read);
  }
  unlink(path.c_str());
}

TEST(KernelBtf, NeitherBtfNorElfIsAClearError) {
  for (std::string bytes : {std::string("not btf at all, not an ELF either"), std::string(), std::string("\x9f\xeb", 2)}) {
    std::string path = temp_file(bytes);
    try {
      shared_kernel_btf(path);
      ADD_FAILURE() << "parsed " << bytes.size() << " bytes of garbage";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
    unlink(path.c_str());
  }
}

}  // namespace
}  // namespace inotrace
