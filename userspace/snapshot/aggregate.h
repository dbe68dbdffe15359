// Per-process, per-user and total views of a snapshot, sorted by watches.
#pragma once

#include <algorithm>
#include <cstdint>
#include <tuple>
#include <utility>
#include <string>
#include <vector>

#include "snapshot/snapshot.h"

namespace inotrace {

struct ProcessRow {
  uint32_t pid = 0;
  std::string comm;
  uint32_t uid = 0;
  size_t instances = 0;
  size_t watches = 0;  // of every instance the process holds (shared instances count for each)
};

// Whose limit: the (user namespace, uid) the kernel charges (iterator source). With the procfs
// source the charge is unknown: rows are keyed by the holder's uid and kernel_watches is -1.
struct UserRow {
  uint32_t uid = 0;
  uint32_t userns_ino = 0;         // 0 if unknown
  int64_t kernel_watches = -1;     // the kernel's own counter (ucounts)
  int64_t max_watches = -1;        // that namespace's limit
  size_t present_watches = 0;      // watches found in this snapshot
  size_t instances = 0;
  int64_t kernel_instances = -1;   // the kernel's own count of instances (ucounts; iterator only)
  int64_t max_instances = -1;      // that namespace's max_user_instances (iterator; else the sysctl for the initial one)
  // The kernel counts more watches than exist: its counter leaked (an unfixed
  // inc/dec_inotify_watches path), or the snapshot is truncated.
  bool count_mismatch() const { return kernel_watches >= 0 && (size_t)kernel_watches != present_watches; }
};

struct Totals {
  size_t processes = 0;
  size_t instances = 0;
  size_t watches = 0;
};

// The one order of every per-user listing (snapshot, /api/users, /metrics, top): most watches
// first, counting the kernel's figure where it is known, then by user namespace and uid.
template <class Row>
void sort_users(std::vector<Row>& rows) {
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    int64_t wa = std::max<int64_t>(a.kernel_watches, (int64_t)a.present_watches);
    int64_t wb = std::max<int64_t>(b.kernel_watches, (int64_t)b.present_watches);
    if (wa != wb) return wa > wb;
    return std::tie(a.userns_ino, a.uid) < std::tie(b.userns_ino, b.uid);
  });
}

// Likewise for processes: most watches first, then by pid.
template <class Row>
void sort_processes(std::vector<Row>& rows) {
  std::stable_sort(rows.begin(), rows.end(),
                   [](const Row& a, const Row& b) { return a.watches != b.watches ? a.watches > b.watches : a.pid < b.pid; });
}

// Or most instances first (who is using up max_user_instances), then most watches, then by pid.
template <class Row>
void sort_processes_by_instances(std::vector<Row>& rows) {
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return std::tie(b.instances, b.watches, a.pid) < std::tie(a.instances, a.watches, b.pid);
  });
}

std::vector<ProcessRow> per_process(const Snapshot& snap);
// The (user namespace, uid) whose limit an instance's watches count against, as per_user keys
// its rows: the charged user where the source knows it, else (0, the first holder's uid).
std::pair<uint32_t, uint32_t> charged_user(const SnapInstance& inst);
std::vector<UserRow> per_user(const Snapshot& snap, int64_t max_user_instances, uint32_t init_userns_ino);
// PROC_USER_INIT_INO (include/linux/proc_ns.h): the initial user namespace's fixed inode.
inline constexpr uint32_t kInitUserNsIno = 0xEFFFFFFDu;
Totals totals(const Snapshot& snap);

}  // namespace inotrace
