// Names chosen by container runtimes and users: cgroup directory names under kubepods and
// watched paths, from which the leak detector derives pod uids.
#include <fuzzer/FuzzedDataProvider.h>

#include <string>

#include "fuzz_check.h"
#include "leaks/pod_index.h"
#include "leaks/pod_paths.h"
#include "paths/cgroup_identity.h"

using namespace inotrace;

namespace {
bool uid_charset(const std::string& uid) {
  for (char c : uid)
    if (!(isalnum((unsigned char)c) || c == '-' || c == '_')) return false;
  return true;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  std::string root = in.ConsumeRandomLengthString(64);
  std::string name = in.ConsumeRandomLengthString(256);
  std::string path = in.ConsumeRemainingBytesAsString();
  if (auto uid = pod_uid_from_cgroup_name(name)) {
    FUZZ_CHECK(!uid->empty() && uid_charset(*uid));
    FUZZ_CHECK(uid->find('_') == std::string::npos);  // systemd's escaped dashes are restored
  }
  // A cgroup path (or a whole /proc/PID/cgroup text) never yields an identity it does not contain.
  CgroupIdentity id = identify_cgroup(path);
  if (!id.pod_uid.empty()) FUZZ_CHECK(uid_charset(id.pod_uid) && !id.qos.empty());
  if (!id.container_id.empty()) FUZZ_CHECK(!id.pod_uid.empty() && path.find(id.container_id) != std::string::npos);
  if (auto p = cgroup_path_of(path)) FUZZ_CHECK(!p->empty() && (*p)[0] == '/' && path.find(*p) != std::string::npos);
  if (auto uid = pod_uid_from_path(path, root)) {
    FUZZ_CHECK(!uid->empty() && *uid != "." && *uid != ".." && uid_charset(*uid));
    FUZZ_CHECK(path.find("/" + *uid) != std::string::npos);  // one whole component of the path
  }
  return 0;
}
