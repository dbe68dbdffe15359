// Paths of a million watches share their prefixes (/var/lib/kubelet/pods/<uid>/...) and end in
// tails of their own: store each path once as a radix tree of (parent, name) nodes, refcounted,
// where one node's name may span several components ("kube-api-access-x/..data/f") until a
// second path diverges inside it and splits it. The names live in one arena, each distinct name
// once (refcounted): a thousand pods' "kube-api-access-x/..data/token" tails are one string.
// Keeps the watch table under ~100 bytes per watch of RSS (bench/table_memory).
#pragma once

#include <absl/container/flat_hash_set.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/huge_page_allocator.h"

namespace inotrace {

using PathId = uint32_t;  // 0 = no path; fits in 28 bits (WatchEntry)
constexpr PathId kNoPath = 0;
// Node ids fit WatchEntry's 28 bits. Names stop at 2 GiB (room_for() checks before each
// append), so every offset fits Node's 32-bit name_off.
constexpr size_t kMaxNodes = size_t{1} << 28;
constexpr size_t kMaxArena = size_t{1} << 31;

class PathInterner {
 public:
  explicit PathInterner(size_t max_nodes = kMaxNodes, size_t max_arena = kMaxArena);
  // The index's Hash and Eq point back at this object: it cannot be copied or moved.
  PathInterner(const PathInterner&) = delete;
  PathInterner& operator=(const PathInterner&) = delete;
  // Interns an absolute path ("/a/b"); non-absolute strings are stored whole, as one name.
  // A path that would take the table past its limits (a new node or name that does not fit)
  // is not stored: kNoPath (the watch shows no path, as one whose path was never known),
  // counted by refused(). A path already stored is always taken.
  // Each call takes a reference: pair it with release(). An id stays valid (and names the same
  // path) while referenced, even when a later path splits its node.
  PathId intern(std::string_view path);
  void retain(PathId id);
  void release(PathId id);
  std::string str(PathId id) const;
  // The same into `out`, reusing its room (a removal names its target per event).
  void str(PathId id, std::string& out) const;

  size_t live_nodes() const { return live_; }
  size_t name_bytes() const { return arena_.size() - arena_dead_; }  // the live names, headers included
  size_t arena_bytes() const { return arena_.size(); }                // live names and dead ones
  uint64_t refused() const { return refused_; }
  size_t memory_bytes() const;

 private:
  // 16 bytes: the name's length is found at its NUL in the arena. Names are shared. `hash`:
  // node_hash(parent, key), kept so that the index's inserts, erases and rehashes read no name
  // (each was a scan for the key's end and a hash of it, a third of a steady add).
  struct Node {
    uint32_t parent;
    uint32_t refs;
    uint32_t name_off;
    uint32_t hash;
  };
  // Children are found by their first component: siblings never share one (two paths that
  // do share the node down to where they diverge). Names below kRelativeRoot are keys whole.
  struct Probe {
    uint32_t parent;
    std::string_view key;
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

  // A stored name: its 4-byte reference count, its bytes, a NUL. Offsets point at the bytes.
  static constexpr size_t kNameHeader = sizeof(uint32_t);
  static size_t stored_size(size_t name_len) { return kNameHeader + name_len + 1; }
  struct NameHash {
    using is_transparent = void;
    const PathInterner* self;
    size_t operator()(uint32_t off) const { return (*this)(self->name_at(off)); }
    size_t operator()(std::string_view v) const;
  };
  struct NameEq {
    using is_transparent = void;
    const PathInterner* self;
    bool operator()(uint32_t a, uint32_t b) const { return a == b; }
    bool operator()(uint32_t a, std::string_view v) const { return self->name_at(a) == v; }
    bool operator()(std::string_view v, uint32_t a) const { return (*this)(a, v); }
  };

  std::string_view name_at(uint32_t off) const { return std::string_view(arena_.data() + off); }
  std::string_view name(uint32_t id) const { return name_at(nodes_[id].name_off); }
  std::string_view key(uint32_t id) const;
  uint32_t name_refs(uint32_t off) const;  // unaligned: through memcpy
  void set_name_refs(uint32_t off, uint32_t refs);
  uint32_t store_name(std::string_view nm);  // room_for() was asked first
  void drop_name(uint32_t off);
  bool room_for(size_t nodes, size_t arena_bytes);
  PathId refuse();
  uint32_t alloc_node();
  uint32_t add_node(uint32_t parent, std::string_view name, uint32_t hash);
  uint32_t split(uint32_t id, size_t prefix_len);
  void maybe_compact();
  void compact();

  // The node chain of the last absolute path interned, by the end offset of each node's name:
  // consecutive paths share most of their prefix (a pod's watches arrive together), so
  // intern() resumes below it. Invalidated when any node is freed (ids are reused).
  std::string last_path_;
  std::vector<std::pair<size_t, uint32_t>> last_chain_, chain_;  // (end offset in the path, node)
  uint64_t frees_ = 0, last_frees_ = ~0ull;

  size_t max_nodes_, max_arena_;
  uint64_t refused_ = 0;
  // The arrays a lookup reads at random are in huge pages (util/huge_page_allocator.h).
  using Arena = std::basic_string<char, std::char_traits<char>, HugePageAllocator<char>>;
  std::vector<Node, HugePageAllocator<Node>> nodes_;  // [0] is the root / "no path"
  std::vector<uint32_t> free_;
  Arena arena_;
  size_t arena_dead_ = 0;
  size_t live_ = 0;
  absl::flat_hash_set<uint32_t, Hash, Eq, HugePageAllocator<uint32_t>> index_;
  absl::flat_hash_set<uint32_t, NameHash, NameEq, HugePageAllocator<uint32_t>> names_;  // every live name's offset, by its bytes
  std::string split_name_;  // a name being split, copied out of the arena that store_name() grows
};

}  // namespace inotrace
