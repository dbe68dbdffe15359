#include "table/path_interner.h"


namespace inotrace {

namespace {
// FNV-1a over the name, seeded with the parent: a few cycles per byte, where a general-purpose
// hash dominated the per-event cost (callgrind); absl mixes the result further.
inline size_t node_hash(uint32_t parent, std::string_view name) {
  uint64_t h = 0xcbf29ce484222325ull ^ ((uint64_t)parent * 0x9e3779b97f4a7c15ull);
  for (unsigned char c : name) h = (h ^ c) * 0x100000001b3ull;
  return h ^ (h >> 32);
}
}  // namespace

size_t PathInterner::Hash::operator()(uint32_t id) const { return node_hash(self->nodes_[id].parent, self->name(id)); }
size_t PathInterner::Hash::operator()(const Probe& p) const { return node_hash(p.parent, p.name); }
bool PathInterner::Eq::operator()(uint32_t a, const Probe& p) const {
  return self->nodes_[a].parent == p.parent && self->name(a) == p.name;
}

namespace {
constexpr uint32_t kRelativeRoot = 1;  // parent of paths that are not absolute (kept verbatim)
}

PathInterner::PathInterner() : index_(0, Hash{this}, Eq{this}) {
  arena_.push_back('\0');            // offset 0: the empty name
  nodes_.push_back(Node{0, 1, 0});  // 0: the root of absolute paths / "no path"
  nodes_.push_back(Node{0, 1, 0});  // 1: kRelativeRoot, never freed
}

uint32_t PathInterner::child(uint32_t parent, std::string_view nm) {
  auto it = index_.find(Probe{parent, nm});
  if (it != index_.end()) {
    nodes_[*it].refs++;
    return *it;
  }
  uint32_t id;
  if (!free_.empty()) {
    id = free_.back();
    free_.pop_back();
  } else {
    id = nodes_.size();
    nodes_.push_back({});
  }
  nodes_[id] = Node{parent, 1, (uint32_t)arena_.size()};
  arena_.append(nm);
  arena_.push_back('\0');
  index_.insert(id);
  live_++;
  if (parent) nodes_[parent].refs++;  // a child keeps its parent alive
  return id;
}

PathId PathInterner::intern(std::string_view path) {
  if (path.empty()) return kNoPath;
  uint32_t cur = 0;
  bool absolute = path.front() == '/';
  if (!absolute) return child(kRelativeRoot, path);
  // "/" itself is the component "" under the root, distinct from "no path".
  size_t pos = 1;
  if (pos >= path.size()) return child(0, "");
  // Resume below the components shared with the last path (kept alive by a reference).
  std::vector<std::pair<size_t, uint32_t>> chain;
  if (last_frees_ == frees_) {
    for (const auto& [end, node] : last_chain_) {
      if (end > path.size() || (end < path.size() && path[end] != '/') ||
          path.compare(0, end, std::string_view(last_path_).substr(0, end)) != 0)
        break;
      if (end == path.size()) break;  // the leaf itself is looked up (and referenced) below
      chain.emplace_back(end, node);
      cur = node;
      pos = end + 1;
    }
  }
  bool holding = false;  // whether we hold an extra reference on `cur`
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    uint32_t next = child(cur, path.substr(pos, slash - pos));
    // child() took a reference on `next`; intermediate nodes are kept alive by their
    // children, so drop the extra reference on every node but the leaf.
    if (holding) release(cur);
    cur = next;
    holding = true;
    chain.emplace_back(slash, cur);
    pos = slash + 1;
  }
  // The cached chain stays valid until a node is freed: release() bumps frees_.
  last_path_.assign(path);
  last_chain_ = std::move(chain);
  last_frees_ = frees_;
  return cur;
}

void PathInterner::retain(PathId id) {
  if (id) nodes_[id].refs++;
}

void PathInterner::release(PathId id) {
  while (id) {
    Node& n = nodes_[id];
    if (--n.refs > 0) return;
    index_.erase(id);
    frees_++;
    arena_dead_ += name(id).size() + 1;
    live_--;
    free_.push_back(id);
    id = n.parent;  // the child's reference on its parent goes too
  }
  maybe_compact();
}

std::string PathInterner::str(PathId id) const {
  if (!id) return {};
  if (nodes_[id].parent == kRelativeRoot) return std::string(name(id));
  std::vector<uint32_t> chain;
  for (uint32_t c = id; c; c = nodes_[c].parent) chain.push_back(c);
  std::string out;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    out += '/';
    out += name(*it);
  }
  return out;
}

void PathInterner::maybe_compact() {
  if (arena_dead_ < 4096 || arena_dead_ * 2 < arena_.size()) return;
  std::string fresh(1, '\0');
  fresh.reserve(arena_.size() - arena_dead_);
  index_.clear();
  std::vector<bool> is_free(nodes_.size(), false);
  for (uint32_t f : free_) is_free[f] = true;
  for (uint32_t id = 2; id < nodes_.size(); id++) {
    if (is_free[id]) continue;
    std::string_view nm = name(id);
    nodes_[id].name_off = fresh.size();
    fresh.append(nm);
    fresh.push_back('\0');
  }
  arena_.swap(fresh);
  arena_dead_ = 0;
  for (uint32_t id = 2; id < nodes_.size(); id++)
    if (!is_free[id]) index_.insert(id);
}

size_t PathInterner::memory_bytes() const {
  return nodes_.capacity() * sizeof(Node) + free_.capacity() * 4 + arena_.capacity() +
         index_.capacity() * (sizeof(uint32_t) + 1);
}

}  // namespace inotrace
