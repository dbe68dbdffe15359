#include "table/path_interner.h"

#include <absl/hash/hash.h>

#include <algorithm>
#include <cstring>

namespace inotrace {

namespace {
// FNV-1a over the key, seeded with the parent: a few cycles per byte, where a general-purpose
// hash dominated the per-event cost (callgrind). 32 bits, folded: kept in each node; absl's
// table takes its probe position from bits 7 and up and its tag from the low 7.
inline uint32_t node_hash(uint32_t parent, std::string_view key) {
  uint64_t h = 0xcbf29ce484222325ull ^ ((uint64_t)parent * 0x9e3779b97f4a7c15ull);
  for (unsigned char c : key) h = (h ^ c) * 0x100000001b3ull;
  return (uint32_t)(h ^ (h >> 32));
}

constexpr uint32_t kRelativeRoot = 1;  // parent of paths that are not absolute (kept whole)

std::string_view first_component(std::string_view s) { return s.substr(0, s.find('/')); }

// The longest prefix of `a` and `b` that ends where a component ends in both; npos when their
// first components differ.
size_t shared_components(std::string_view a, std::string_view b) {
  size_t shared = std::string_view::npos;
  for (size_t i = 0;;) {
    size_t ea = std::min(a.find('/', i), a.size()), eb = std::min(b.find('/', i), b.size());
    if (ea != eb || a.compare(i, ea - i, b, i, eb - i) != 0) return shared;
    shared = ea;
    if (ea == a.size() || eb == b.size()) return shared;
    i = ea + 1;
  }
}
}  // namespace

std::string_view PathInterner::key(uint32_t id) const {
  if (nodes_[id].parent == kRelativeRoot) return name(id);
  const char* s = arena_.data() + nodes_[id].name_off;
  return std::string_view(s, strchrnul(s, '/') - s);  // vectorised: names run to 100 bytes and more
}

size_t PathInterner::Hash::operator()(uint32_t id) const { return self->nodes_[id].hash; }
size_t PathInterner::Hash::operator()(const Probe& p) const { return node_hash(p.parent, p.key); }
bool PathInterner::Eq::operator()(uint32_t a, const Probe& p) const {
  return self->nodes_[a].parent == p.parent && self->key(a) == p.key;
}

size_t PathInterner::NameHash::operator()(std::string_view v) const { return absl::Hash<std::string_view>{}(v); }

uint32_t PathInterner::name_refs(uint32_t off) const {
  uint32_t refs;
  std::memcpy(&refs, arena_.data() + off - kNameHeader, sizeof refs);
  return refs;
}

void PathInterner::set_name_refs(uint32_t off, uint32_t refs) {
  std::memcpy(arena_.data() + off - kNameHeader, &refs, sizeof refs);
}

PathInterner::PathInterner(size_t max_nodes, size_t max_arena)
    : max_nodes_(std::min(max_nodes, kMaxNodes)),
      max_arena_(std::min(max_arena, kMaxArena)),
      index_(0, Hash{this}, Eq{this}),
      names_(0, NameHash{this}, NameEq{this}) {
  arena_.assign(stored_size(0), '\0');  // the roots' empty name, outside names_ and never freed
  nodes_.push_back(Node{0, 1, kNameHeader, 0});  // 0: the root of absolute paths / "no path"
  nodes_.push_back(Node{0, 1, kNameHeader, 0});  // 1: kRelativeRoot, never freed (neither is indexed)
}

// One more reference on the stored copy of nm, stored now if it was not.
uint32_t PathInterner::store_name(std::string_view nm) {
  // The bytes go in first, so that the set never holds an offset without its name (an append
  // that throws leaves nothing placed); taken back when the name was already stored.
  size_t before = arena_.size();
  uint32_t refs = 1, off = (uint32_t)(before + kNameHeader);
  arena_.append(reinterpret_cast<const char*>(&refs), sizeof refs);
  arena_.append(nm);
  arena_.push_back('\0');
  // Found or placed with one hash of nm (find then insert hashed it twice, the second time
  // after a strlen of the stored copy).
  bool placed = false;
  uint32_t at;
  try {
    at = *names_.lazy_emplace(nm, [&](const auto& place) { place(off), placed = true; });
  } catch (...) {
    arena_.resize(before);
    throw;
  }
  if (placed) return off;
  arena_.resize(before);
  set_name_refs(at, name_refs(at) + 1);
  return at;
}

void PathInterner::drop_name(uint32_t off) {
  uint32_t refs = name_refs(off) - 1;
  set_name_refs(off, refs);
  if (refs) return;
  names_.erase(off);  // found by its bytes, which stay until compaction
  size_t size = stored_size(name_at(off).size());
  if (off - kNameHeader + size == arena_.size())
    arena_.resize(off - kNameHeader);  // the newest name (a split's whole, as a rule): its room is reused now
  else
    arena_dead_ += size;
}

// A free slot for a node: reused first, else a new one (intern() checked the limits).
uint32_t PathInterner::alloc_node() {
  if (!free_.empty()) {
    uint32_t id = free_.back();
    free_.pop_back();
    return id;
  }
  nodes_.push_back({});
  return nodes_.size() - 1;
}

// Room for `nodes` more nodes and `arena_bytes` more of names (at most: a name already stored
// takes none); dead names are compacted away first when only they stand in the way.
bool PathInterner::room_for(size_t nodes, size_t arena_bytes) {
  if (nodes_.size() + nodes > max_nodes_ + free_.size()) return false;
  if (arena_.size() + arena_bytes <= max_arena_) return true;
  if (arena_.size() - arena_dead_ + arena_bytes > max_arena_) return false;
  compact();
  return true;
}

PathId PathInterner::refuse() {
  refused_++;
  return kNoPath;
}

// A new node holding the caller's reference; it holds one on its parent. `hash`: the index's
// hash of (parent, its key), which the caller's lookup computed.
uint32_t PathInterner::add_node(uint32_t parent, std::string_view nm, uint32_t hash) {
  uint32_t id = alloc_node();
  nodes_[id] = Node{parent, 1, store_name(nm), hash};
  index_.insert(id);
  live_++;
  if (parent) nodes_[parent].refs++;
  return id;
}

// Cuts node `id` after its first `prefix_len` bytes (which end at a '/'): a new node takes the
// prefix and id's place under its parent, id keeps the rest below it. The name may be shared,
// so both parts are stored as names of their own. Ids (and so the watches' paths) stay.
uint32_t PathInterner::split(uint32_t id, size_t prefix_len) {
  index_.erase(id);
  uint32_t off = nodes_[id].name_off, parent = nodes_[id].parent, prefix = alloc_node();
  split_name_.assign(name_at(off));
  std::string_view whole = split_name_, rest = whole.substr(prefix_len + 1);
  drop_name(off);  // first: when it was the arena's newest, the parts take its room
  // The prefix keeps id's parent and first component, so its hash; id's key is now rest's first.
  // id's reference on its parent passes to the prefix.
  nodes_[prefix] = Node{parent, 1, store_name(whole.substr(0, prefix_len)), nodes_[id].hash};
  nodes_[id].parent = prefix;
  nodes_[id].name_off = store_name(rest);
  nodes_[id].hash = node_hash(prefix, first_component(rest));
  index_.insert(prefix);
  index_.insert(id);
  live_++;
  return prefix;
}

PathId PathInterner::intern(std::string_view path) {
  if (path.empty()) return kNoPath;
  if (path.front() != '/') {
    uint32_t hash = node_hash(kRelativeRoot, path);
    auto it = index_.find(Probe{kRelativeRoot, path}, hash);
    if (it == index_.end())
      return room_for(1, stored_size(path.size())) ? add_node(kRelativeRoot, path, hash) : refuse();
    nodes_[*it].refs++;
    return *it;
  }
  uint32_t cur = 0;  // the node whose path is path[0, pos - 1)
  size_t pos = 1;
  // Resume below the nodes shared with the last path (kept alive by a reference).
  chain_.clear();
  if (last_frees_ == frees_) {
    for (const auto& [end, node] : last_chain_) {
      if (end >= path.size() || path[end] != '/' || path.compare(0, end, last_path_, 0, end) != 0) break;
      chain_.emplace_back(end, node);
      cur = node;
      pos = end + 1;
    }
  }
  bool holding = false;  // whether we hold an extra reference on `cur`
  for (;;) {
    std::string_view rest = path.substr(pos), first = first_component(rest);
    uint32_t hash = node_hash(cur, first);
    auto it = index_.find(Probe{cur, first}, hash);
    uint32_t next;
    size_t end;
    std::string_view found = it == index_.end() ? std::string_view{} : name(*it);  // one strlen per step
    size_t shared = it == index_.end() ? 0 : shared_components(found, rest);
    bool grows = it == index_.end() || shared < found.size();  // a new node, or a split
    // A split stores its two parts: together no longer than the name they were.
    size_t arena_bytes = it == index_.end() ? stored_size(rest.size()) : 2 * stored_size(0) + found.size();
    if (grows && !room_for(1, arena_bytes)) {  // may compact: `found` is not used past here
      if (holding) release(cur);
      return refuse();
    }
    if (it == index_.end()) {
      next = add_node(cur, rest, hash);  // the whole rest of the path: one node until another path diverges in it
      end = path.size();
    } else {
      next = *it;
      if (shared < found.size()) next = split(next, shared);
      nodes_[next].refs++;
      end = pos + shared;
    }
    // Nodes above the leaf are kept alive by their children: drop the walk's reference.
    if (holding) release(cur);
    cur = next;
    holding = true;
    chain_.emplace_back(end, cur);
    if (end == path.size()) break;
    pos = end + 1;
  }
  // The cached chain stays valid until a node is freed: release() bumps frees_.
  last_path_.assign(path);
  last_chain_.swap(chain_);
  last_frees_ = frees_;
  return cur;
}

void PathInterner::retain(PathId id) {
  if (id) nodes_[id].refs++;
}

void PathInterner::release(PathId id) {
  bool freed = false;
  while (id) {
    Node& n = nodes_[id];
    if (--n.refs > 0) break;  // an ancestor still held: what was freed below it may still compact
    index_.erase(id);
    frees_++;
    drop_name(n.name_off);
    live_--;
    free_.push_back(id);
    freed = true;
    id = n.parent;  // the child's reference on its parent goes too
  }
  if (freed) maybe_compact();
}

std::string PathInterner::str(PathId id) const {
  std::string out;
  str(id, out);
  return out;
}

void PathInterner::str(PathId id, std::string& out) const {
  out.clear();
  if (!id) return;
  if (nodes_[id].parent == kRelativeRoot) return out.assign(name(id)), void();
  // Measured first, then written from the leaf back: no list of the nodes on the way.
  size_t len = 0;
  for (uint32_t c = id; c; c = nodes_[c].parent) len += 1 + name(c).size();
  out.resize(len);
  for (uint32_t c = id; c; c = nodes_[c].parent) {
    std::string_view nm = name(c);
    len -= nm.size();
    std::memcpy(out.data() + len, nm.data(), nm.size());
    out[--len] = '/';
  }
}

void PathInterner::maybe_compact() {
  if (arena_dead_ >= 4096 && arena_dead_ * 2 >= arena_.size()) compact();
}

void PathInterner::compact() {
  // Two phases, for exception safety: everything that allocates (the fresh arena, the moves,
  // the new name set's room) happens first and touches nothing of this object; a bad_alloc
  // there leaves the interner as it was. Then, allocating nothing: each old name header takes
  // its new offset for the nodes, the arena is swapped, and the name set rebuilt in its room.
  // The node index hashes names, not offsets: it stays as it is.
  Arena fresh(arena_, 0, stored_size(0));  // the roots' name
  fresh.reserve(arena_.size() - arena_dead_);
  std::vector<std::pair<uint32_t, uint32_t>> moved;  // (old offset, new offset)
  moved.reserve(names_.size());
  for (uint32_t off : names_) {
    std::string_view nm = name_at(off);
    uint32_t refs = name_refs(off), to = (uint32_t)(fresh.size() + kNameHeader);
    fresh.append(reinterpret_cast<const char*>(&refs), sizeof refs);
    fresh.append(nm);
    fresh.push_back('\0');
    moved.emplace_back(off, to);
  }
  std::vector<bool> is_free(nodes_.size(), false);
  for (uint32_t f : free_) is_free[f] = true;
  decltype(names_) fresh_names(0, NameHash{this}, NameEq{this});
  fresh_names.reserve(moved.size());  // inserts below up to this many do not rehash

  for (auto [off, to] : moved) set_name_refs(off, to);
  for (uint32_t id = 2; id < nodes_.size(); id++)
    if (!is_free[id]) nodes_[id].name_off = name_refs(nodes_[id].name_off);
  arena_.swap(fresh);
  arena_dead_ = 0;
  for (auto [off, to] : moved) fresh_names.insert(to);
  names_.swap(fresh_names);
}

namespace {
// What an absl::flat_hash_set of 4-byte slots allocates at `capacity`: a control byte per slot,
// a sentinel and 15 cloned control bytes, aligned to the slots, then the slots (AllocSize in
// abseil's raw_hash_set.h); nothing before its first insert.
size_t hash_set_allocation(size_t capacity) {
  if (!capacity) return 0;
  return ((capacity + 1 + 15 + 3) & ~size_t{3}) + capacity * sizeof(uint32_t);
}
}  // namespace

size_t PathInterner::memory_bytes() const {
  // The huge-page arrays as mapped (util/huge_page_allocator.h), the rest as asked for. A
  // string allocates its capacity and the NUL.
  return huge_allocated_bytes(nodes_.capacity() * sizeof(Node)) + free_.capacity() * 4 +
         huge_allocated_bytes(arena_.capacity() + 1) +
         (last_chain_.capacity() + chain_.capacity()) * sizeof(std::pair<size_t, uint32_t>) +
         huge_allocated_bytes(hash_set_allocation(index_.capacity())) +
         huge_allocated_bytes(hash_set_allocation(names_.capacity())) + split_name_.capacity();
}

}  // namespace inotrace
