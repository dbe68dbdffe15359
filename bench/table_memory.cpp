// bench: the live watch table's memory per watch at 1M watches, and the userspace cost per
// event (record decoding + table update), against the target of 100 bytes per watch and well
// under 1 us per event (DESIGN.md §8). Prints one JSON object; bench/run puts it in the table.
//
// Watches are kubelet-like: 1,000 instances x 1,000 watches on per-pod projected-volume paths,
// so path interning is measured on realistic shared prefixes.
#include <fmt/format.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "events/decode.h"
#include "table/watch_table.h"
#include "util/huge_page_allocator.h"

using namespace inotrace;

namespace {

// malloc's heap and the table's huge-page blocks, which malloc does not count.
size_t heap_in_use() {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd + huge_block_bytes();
}

size_t rss_bytes() {
  std::ifstream f("/proc/self/statm");
  size_t pages = 0, resident = 0;
  f >> pages >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

std::string pod_uid(int i) { return fmt::format("{:08x}-4a1b-4c2d-8e3f-{:012x}", i * 2654435761u, (uint64_t)i * 40503u); }

std::vector<char> raw_add(uint64_t group, int wd, const std::string& path) {
  inotrace_watch_event w{};
  w.hdr.type = INOTRACE_REC_ADD;
  w.task.pid = 1000;
  w.group = group;
  w.group_seq = 1;
  w.ino = wd;
  w.dev = 40;
  w.wd = wd;
  w.mask = 0xfc6;
  w.path_kind = INOTRACE_PATH_USER;
  w.path_len = path.size() + 1;
  memcpy(w.path, path.c_str(), path.size() + 1);
  w.hdr.size = INOTRACE_WATCH_EVENT_FIXED + w.path_len;
  return std::vector<char>((char*)&w, (char*)&w + w.hdr.size);
}

}  // namespace

// Two path layouts: "kubelet" (every pod's volume paths unique below the pods root: the worst
// case for interning) and "dirs" (per-process directories of numbered dirs, like the snapshot
// benchmark's populations).
std::string path_of(const std::string& layout, int instance, int per_instance, int w) {
  if (layout == "dirs") return fmt::format("/tmp/inotrace-bench/p{}/d{}", instance, w);
  return fmt::format("/var/lib/kubelet/pods/{}/volumes/kubernetes.io~projected/kube-api-access-{}/..data/file{}",
                     pod_uid(instance * per_instance + w / 3), w % 97, w);
}

int positive_arg(const char* s, const char* what) {
  char* end = nullptr;
  long v = strtol(s, &end, 10);
  if (*s == 0 || *end != 0 || v <= 0 || v > 100'000'000) {
    fmt::print(stderr, "table_memory: {} must be a positive integer, got '{}'\n", what, s);
    exit(2);
  }
  return (int)v;
}

int main(int argc, char** argv) {
  if (argc > 4 || (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))) {
    fmt::print(stderr, "usage: table_memory [INSTANCES [WATCHES_PER_INSTANCE [kubelet|dirs]]] (default 1000 1000 kubelet)\n");
    return 2;
  }
  int instances = argc > 1 ? positive_arg(argv[1], "INSTANCES") : 1000;
  int per_instance = argc > 2 ? positive_arg(argv[2], "WATCHES_PER_INSTANCE") : 1000;
  std::string layout = argc > 3 ? argv[3] : "kubelet";
  if (layout != "kubelet" && layout != "dirs") {
    fmt::print(stderr, "table_memory: layout must be kubelet or dirs, got '{}'\n", layout);
    return 2;
  }
  size_t total = (size_t)instances * per_instance;

  // Pre-build the raw records so their memory is not counted in the table's.
  std::vector<std::vector<char>> records;
  records.reserve(total);
  for (int i = 0; i < instances; i++)
    for (int w = 1; w <= per_instance; w++) {
      std::string path = path_of(layout, i, per_instance, w);
      records.push_back(raw_add(0xffff888000000000ull + (uint64_t)i * 4096, w, path));
    }

  size_t before = rss_bytes();
  size_t heap_before = heap_in_use();
  WatchTable table;
  // Decoded into one reused Event, as the tracer does (loader/tracer.cpp).
  Event ev;
  auto apply = [&](const std::vector<char>& r) {
    if (!decode_event_into(r.data(), r.size(), ev, nullptr)) abort();
    table.apply(ev);
  };
  auto t0 = std::chrono::steady_clock::now();
  for (const auto& r : records) apply(r);
  auto t1 = std::chrono::steady_clock::now();
  size_t burst = rss_bytes();
  // Steady state: the reconcile bookkeeping of the burst is dropped after its horizon (or at
  // the next snapshot); give freed memory back so RSS shows what the table keeps.
  table.forget_recent_before(UINT64_MAX);
  malloc_trim(0);
  size_t after = rss_bytes();
  size_t heap_after = heap_in_use();
  double accounted = (double)table.memory_bytes() / total;

  // Steady state: a daemon's table is already full when events arrive. Churn 100k watches of
  // new instances (same path layout) on top of the full table: add, then remove each.
  size_t nchurn = std::min<size_t>(100'000, total);
  std::vector<std::vector<char>> churn_add, churn_rm;
  churn_add.reserve(nchurn);
  for (size_t k = 0; k < nchurn; k++) {
    int i = instances + (int)(k / per_instance), w = 1 + (int)(k % per_instance);
    churn_add.push_back(raw_add(0xffff888000000000ull + (uint64_t)i * 4096, w, path_of(layout, i, per_instance, w)));
  }
  churn_rm = churn_add;
  for (auto& r : churn_rm) reinterpret_cast<inotrace_watch_event*>(r.data())->hdr.type = INOTRACE_REC_REMOVE;
  auto c0 = std::chrono::steady_clock::now();
  for (const auto& r : churn_add) apply(r);
  auto c1 = std::chrono::steady_clock::now();
  for (const auto& r : churn_rm) apply(r);
  auto c2 = std::chrono::steady_clock::now();
  bool churn_ok = table.watch_count() == total;
  table.forget_recent_before(UINT64_MAX);

  // Removal cost: remove every watch again (decode + apply).
  std::vector<std::vector<char>> removals;
  removals.reserve(total);
  for (const auto& r : records) {
    auto copy = r;
    reinterpret_cast<inotrace_watch_event*>(copy.data())->hdr.type = INOTRACE_REC_REMOVE;
    removals.push_back(std::move(copy));
  }
  auto t2 = std::chrono::steady_clock::now();
  for (const auto& r : removals) apply(r);
  auto t3 = std::chrono::steady_clock::now();

  double add_ns = std::chrono::duration<double, std::nano>(t1 - t0).count() / total;
  double rm_ns = std::chrono::duration<double, std::nano>(t3 - t2).count() / total;
  double churn_add_ns = std::chrono::duration<double, std::nano>(c1 - c0).count() / nchurn;
  double churn_rm_ns = std::chrono::duration<double, std::nano>(c2 - c1).count() / nchurn;
  bool empty = table.watch_count() == 0;
  fmt::print(
      "{{\"layout\": \"{}\", \"watches\": {}, \"instances\": {}, \"rss_bytes\": {}, \"rss_bytes_per_watch\": {:.1f}, "
      "\"rss_bytes_per_watch_during_burst\": {:.1f}, \"heap_bytes_per_watch\": {:.1f}, "
      "\"accounted_bytes_per_watch\": {:.1f}, \"add_ns_per_event\": {:.1f}, \"remove_ns_per_event\": {:.1f}, "
      "\"steady_add_ns_per_event\": {:.1f}, \"steady_remove_ns_per_event\": {:.1f}, \"steady_events\": {}, "
      "\"table_empty_after_removals\": {}}}\n",
      layout, total, instances, after - before, (double)(after - before) / total, (double)(burst - before) / total,
      (double)(heap_after - heap_before) / total, accounted, add_ns, rm_ns, churn_add_ns, churn_rm_ns, nchurn,
      empty && churn_ok ? "true" : "false");
  // A table that does not end empty (or lost a watch during the churn) is a bug, not a figure.
  return empty && churn_ok ? 0 : 1;
}
