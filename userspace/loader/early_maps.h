// Big preallocated maps created on another thread while the start-up does other work.
//
// Why: libbpf creates every map of an object at its load, one after another on the thread that
// loads. The tracer's group_seqs (a 65,536-entry LRU, preallocated) and pending (16,384 entries)
// took the kernel ~12 and ~5 ms to create, while the same thread's BTF parse and backend probe
// left the second CPU idle. EarlyMaps reads those maps' definitions from the object's ELF,
// creates them on a thread of its own, and hands them to the opened object before its load
// (bpf_map__reuse_fd). A map whose definition changed meanwhile (the caller resized it), or
// that could not be created early, is left to libbpf: this only ever saves time.
#pragma once

#include <cstddef>
#include <future>
#include <string>
#include <vector>

#include "util/unique_fd.h"

struct bpf_object;

namespace inotrace {

class EarlyMaps {
 public:
  // Starts creating the maps of the ELF object named `names`; without a thread to be had, none.
  EarlyMaps(const void* elf, size_t elf_size, std::vector<std::string> names);
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
  std::future<std::vector<Created>> created_;
};

}  // namespace inotrace
