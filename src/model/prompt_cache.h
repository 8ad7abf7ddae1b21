#pragma once
// Finished sequences kept for later prompts: a radix tree keyed by token ids
// (as SGLang's RadixAttention) whose entries are sequences of the Context,
// so a conversation's next turn, a repeated system prompt or an evaluation's
// shared few-shot prefix is computed once and then forked (copy on write,
// nothing copied or recomputed).
//
// An entry's blocks live in the Context's KV pool: the cache gives them back
// whenever a running sequence needs room (release_blocks), and stays under a
// byte cap and an entry cap by evicting the least recently used entry. A
// model with recurrent layers keeps only its last position's state, so such
// an entry serves only prompts that extend it whole.
//
//   PromptCache cache(ctx, {.max_bytes = 1 << 30, .max_entries = 32});
//   PromptCache::Match m = cache.find(prompt, prompt.size() - 1);
//   int seq = m.seq >= 0 ? ctx.fork(m.seq) : ctx.new_sequence();
//   if (m.seq >= 0) ctx.truncate(seq, int(m.length));   // then compute the rest
//   ... generate ...
//   cache.insert(tokens_of(seq), seq);                   // the cache owns seq now
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace s1 {

class Context;

struct PromptCacheLimits {
  size_t max_bytes = size_t(1) << 30;  // KV (and recurrent state) bytes the entries may hold
  int max_entries = 32;                // each holds one of the Context's sequence ids
};

class PromptCache {
 public:
  PromptCache(Context& ctx, PromptCacheLimits limits);
  ~PromptCache();  // removes its sequences
  PromptCache(const PromptCache&) = delete;
  PromptCache& operator=(const PromptCache&) = delete;

  struct Match {
    int seq = -1;       // a cached sequence whose first `length` positions are the prompt's; -1: none
    size_t length = 0;
  };
  // The entry sharing the longest prefix (at most `limit` tokens) with
  // `tokens` that the context can cut back to it; marks it used.
  Match find(std::span<const int32_t> tokens, size_t limit);
  // Takes ownership of `seq`, whose positions hold `tokens` (s1::Error when
  // its length differs). Entries it extends are dropped when the context can
  // cut it back to them; then the least recently used go until the caps hold.
  void insert(std::vector<int32_t> tokens, int seq);
  // Evicts least recently used entries until the KV pool has `blocks` free
  // blocks or the cache is empty; whether the pool has them.
  bool release_blocks(int blocks);

  int entries() const { return int(entries_.size()); }
  size_t bytes() const;  // what the entries hold: blocks shared among them count once
  const PromptCacheLimits& limits() const { return limits_; }

 private:
  struct Node;
  Node* walk(std::span<const int32_t> tokens, size_t limit, size_t& depth, Node*& deepest_entry) const;
  Node* split(Node* child, size_t at);
  void drop(Node* node);  // removes its sequence and prunes the tree
  void evict_least_recent();

  Context& ctx_;
  PromptCacheLimits limits_;
  std::unique_ptr<Node> root_;
  std::vector<Node*> entries_;  // nodes holding a sequence
  uint64_t clock_ = 0;          // for least-recently-used order
};

}  // namespace s1
