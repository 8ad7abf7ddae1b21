#include "model/prompt_cache.h"

#include <algorithm>
#include <map>

#include "model/context.h"
#include "util/error.h"

namespace s1 {

// A radix tree node: the tokens on the edge from its parent, and possibly a
// cached sequence holding exactly the tokens from the root to its end.
struct PromptCache::Node {
  std::vector<int32_t> edge;
  std::map<int32_t, std::unique_ptr<Node>> children;  // by their edge's first token
  Node* parent = nullptr;
  size_t depth = 0;  // tokens from the root to the end of `edge`
  int seq = -1;
  uint64_t last_used = 0;
};

namespace {

// The most recently used entry in node's subtree, node included.
template <class Node>
Node* most_recent_entry(Node* node) {
  Node* best = node->seq >= 0 ? node : nullptr;
  for (auto& [first, child] : node->children) {
    Node* candidate = most_recent_entry(child.get());
    if (candidate && (!best || candidate->last_used > best->last_used)) best = candidate;
  }
  return best;
}

}  // namespace

PromptCache::PromptCache(Context& ctx, PromptCacheLimits limits)
    : ctx_(ctx), limits_(limits), root_(std::make_unique<Node>()) {}

PromptCache::~PromptCache() {
  for (Node* node : entries_) ctx_.remove(node->seq);
}

size_t PromptCache::bytes() const {
  std::vector<int> seqs;
  for (const Node* node : entries_) seqs.push_back(node->seq);
  const KvCache& kv = ctx_.kv_cache();
  return size_t(kv.distinct_blocks(seqs)) * kv.block_bytes() + seqs.size() * ctx_.recurrent_bytes_per_sequence();
}

// Follows `tokens` (at most `limit` of them) down the tree. `depth` says how
// many matched; the node returned roots the subtree whose entries all hold
// them (the child whose edge the match ended inside, or the node it ended
// at); `deepest_entry` is the deepest entry the match passed whole.
PromptCache::Node* PromptCache::walk(std::span<const int32_t> tokens, size_t limit, size_t& depth,
                                     Node*& deepest_entry) const {
  Node* node = root_.get();
  depth = 0;
  deepest_entry = nullptr;
  while (depth < limit) {
    auto it = node->children.find(tokens[depth]);
    if (it == node->children.end()) break;
    Node* child = it->second.get();
    size_t matched = 0;
    while (matched < child->edge.size() && depth + matched < limit && child->edge[matched] == tokens[depth + matched])
      ++matched;
    depth += matched;
    if (matched < child->edge.size()) return child;
    node = child;
    if (node->seq >= 0) deepest_entry = node;
  }
  return node;
}

PromptCache::Match PromptCache::find(std::span<const int32_t> tokens, size_t limit) {
  limit = std::min(limit, tokens.size());
  size_t depth = 0;
  Node* deepest_entry = nullptr;
  Node* below = walk(tokens, limit, depth, deepest_entry);
  Node* chosen = deepest_entry;
  size_t length = deepest_entry ? deepest_entry->depth : 0;
  // A longer entry below the match serves too, cut back to it (not with recurrent state).
  if (depth > length)
    if (Node* longer = most_recent_entry(below); longer && ctx_.can_truncate(longer->seq, int(depth)))
      chosen = longer, length = depth;
  if (!chosen) return {};
  chosen->last_used = ++clock_;
  return {chosen->seq, length};
}

// Cuts child's edge after `at` tokens; returns the new node ending there.
PromptCache::Node* PromptCache::split(Node* child, size_t at) {
  Node* parent = child->parent;
  std::unique_ptr<Node>& slot = parent->children[child->edge.front()];
  auto middle = std::make_unique<Node>();
  middle->edge.assign(child->edge.begin(), child->edge.begin() + ptrdiff_t(at));
  middle->parent = parent;
  middle->depth = child->depth - child->edge.size() + at;
  std::unique_ptr<Node> lower = std::move(slot);
  lower->edge.erase(lower->edge.begin(), lower->edge.begin() + ptrdiff_t(at));
  lower->parent = middle.get();
  middle->children[lower->edge.front()] = std::move(lower);
  slot = std::move(middle);
  return slot.get();
}

void PromptCache::insert(std::vector<int32_t> tokens, int seq) {
  if (ctx_.length(seq) != int(tokens.size())) {
    const int length = ctx_.length(seq);
    ctx_.remove(seq);
    fail("prompt cache: sequence {} holds {} positions, not the {} tokens given", seq, length, tokens.size());
  }
  if (tokens.empty()) {
    ctx_.remove(seq);
    return;
  }
  Node* node = root_.get();
  while (node->depth < tokens.size()) {
    auto it = node->children.find(tokens[node->depth]);
    if (it == node->children.end()) {
      auto leaf = std::make_unique<Node>();
      leaf->edge.assign(tokens.begin() + ptrdiff_t(node->depth), tokens.end());
      leaf->parent = node;
      leaf->depth = tokens.size();
      node = (node->children[leaf->edge.front()] = std::move(leaf)).get();
      break;
    }
    Node* child = it->second.get();
    size_t matched = 0;
    while (matched < child->edge.size() && child->edge[matched] == tokens[node->depth + matched]) ++matched;
    node = matched < child->edge.size() ? split(child, matched) : child;
  }
  if (node->seq >= 0)
    ctx_.remove(node->seq);  // the same tokens again: the newer copy stays
  else
    entries_.push_back(node);
  node->seq = seq;
  node->last_used = ++clock_;

  // Entries this one extends are redundant when it can be cut back to them.
  std::vector<Node*> extended;
  for (Node* up = node->parent; up != root_.get(); up = up->parent)
    if (up->seq >= 0 && ctx_.can_truncate(seq, int(up->depth))) extended.push_back(up);
  for (Node* up : extended) drop(up);  // deepest first: a merge below never moves the ones above
  while (!entries_.empty() && (int(entries_.size()) > limits_.max_entries || bytes() > limits_.max_bytes))
    evict_least_recent();
}

void PromptCache::drop(Node* node) {
  ctx_.remove(node->seq);
  node->seq = -1;
  entries_.erase(std::find(entries_.begin(), entries_.end(), node));
  while (node != root_.get() && node->children.empty() && node->seq < 0) {
    Node* parent = node->parent;
    const int32_t key = node->edge.front();
    parent->children.erase(key);  // deletes node
    node = parent;
  }
  // A node left with neither an entry nor a branch joins its only child's edge.
  if (node != root_.get() && node->seq < 0 && node->children.size() == 1) {
    std::unique_ptr<Node> only = std::move(node->children.begin()->second);
    only->edge.insert(only->edge.begin(), node->edge.begin(), node->edge.end());
    only->parent = node->parent;
    node->parent->children[only->edge.front()] = std::move(only);  // deletes node
  }
}

void PromptCache::evict_least_recent() {
  drop(*std::min_element(entries_.begin(), entries_.end(),
                         [](const Node* a, const Node* b) { return a->last_used < b->last_used; }));
}

bool PromptCache::release_blocks(int blocks) {
  while (ctx_.kv_cache().free_blocks() < blocks && !entries_.empty()) evict_least_recent();
  return ctx_.kv_cache().free_blocks() >= blocks;
}

}  // namespace s1
