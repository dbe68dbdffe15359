// Paths of a million watches share most of their prefixes (/var/lib/kubelet/pods/<uid>/...):
// store each path once as a chain of (parent, name) nodes, refcounted, with the names in one
// arena. Keeps the watch table under ~100 bytes per watch (bench/table_memory).
#pragma once

#include <absl/container/flat_hash_set.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace inotrace {

using PathId = uint32_t;  // 0 = no path; fits in 28 bits (WatchEntry)
constexpr PathId kNoPath = 0;

class PathInterner {
 public:
  PathInterner();
  // Interns an absolute path ("/a/b"); non-absolute strings are stored as one component.
  // Each call takes a reference: pair it with release().
  PathId intern(std::string_view path);
  void retain(PathId id);
  void release(PathId id);
  std::string str(PathId id) const;

  size_t live_nodes() const { return live_; }
  size_t memory_bytes() const;

 private:
  // 12 bytes: the name's length is found at its NUL in the arena (names are short).
  struct Node {
    uint32_t parent;
    uint32_t refs;
    uint32_t name_off;
  };
  struct Probe {
    uint32_t parent;
    std::string_view name;
  };
  struct Hash {
    using is_transparent = void;
    const PathInterner* self;
    size_t operator()(uint32_t id) const;
    size_t operator()(const Probe& p) const;
  };
  struct Eq {
    using is_transparent = void;
    const PathInterner* self;
    bool operator()(uint32_t a, uint32_t b) const { return a == b; }
    bool operator()(uint32_t a, const Probe& p) const;
    bool operator()(const Probe& p, uint32_t a) const { return (*this)(a, p); }
  };

  std::string_view name(uint32_t id) const { return std::string_view(arena_.data() + nodes_[id].name_off); }
  uint32_t child(uint32_t parent, std::string_view name);
  void maybe_compact();

  // The node chain of the last absolute path interned, by component end offset: consecutive
  // paths share most of their components (a pod's watches arrive together), so intern()
  // resumes below the shared prefix. Invalidated when any node is freed (ids are reused).
  std::string last_path_;
  std::vector<std::pair<size_t, uint32_t>> last_chain_;  // (end offset in last_path_, node)
  uint64_t frees_ = 0, last_frees_ = ~0ull;

  std::vector<Node> nodes_;  // [0] is the root / "no path"
  std::vector<uint32_t> free_;
  std::string arena_;
  size_t arena_dead_ = 0;
  size_t live_ = 0;
  absl::flat_hash_set<uint32_t, Hash, Eq> index_;
};

}  // namespace inotrace
