// Big preallocated maps created on other threads while the start-up does other work.
//
// Why: libbpf creates every map of an object at its load, one after another on the thread that
// loads. The tracer's group_seqs (a 65,536-entry LRU, preallocated), pending (16,384 entries)
// and its 4 MiB ring buffer took the kernel ~9, ~4 and ~3 ms to create, while the loading
// thread's probes and opening left the second CPU idle. EarlyMaps reads those maps' definitions
// from the object's ELF, creates each on a thread of its own (the kernel's work for one does not
// wait for another's), and hands them to the opened object before its load
// (bpf_map__reuse_fd). A map whose shape the caller knows up front is begun at once, without
// waiting for that reading (~1-4 ms). A map whose definition differs from the object's at
// the hand-over (the caller resized it, or a known shape went stale), or that could not be
// created early, is left to libbpf: this only ever saves time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <future>
#include <optional>
#include <string>
#include <vector>

#include "util/unique_fd.h"

#include <linux/bpf.h>

struct bpf_object;

namespace inotrace {

class EarlyMaps {
 public:
  struct Shape {
    bpf_map_type type;
    uint32_t key_size, value_size, max_entries, flags;
  };
  struct Spec {
    std::string name;
    uint32_t max_entries = 0;    // 0: as the object defines it; else as the caller will set it
    std::optional<Shape> known;  // the whole definition, when the caller knows it (then begun at once)
  };
  // Starts creating the ELF object's maps named in `specs`; without a thread to be had, none.
  EarlyMaps(const void* elf, size_t elf_size, std::vector<Spec> specs);
  ~EarlyMaps();
  EarlyMaps(const EarlyMaps&) = delete;
  EarlyMaps& operator=(const EarlyMaps&) = delete;

  // Before bpf_object__load(obj): waits for the thread and gives `obj` each map created early
  // whose definition equals obj's. Returns how many it gave.
  size_t hand_to(bpf_object* obj);

  struct Created {
    std::string name;
    UniqueFd fd;
  };

 private:
  std::vector<std::future<std::vector<Created>>> created_;
};

}  // namespace inotrace
