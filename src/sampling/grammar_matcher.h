#pragma once
// Matches generated tokens against a Grammar, so the sampler draws only tokens
// that keep the output a prefix of something the grammar accepts.
//
// The state is a set of stacks, one per way the output so far can be parsed
// (a pushdown automaton run on every alternative at once, as llama.cpp's
// grammar sampler does). Whether one token is allowed is a walk over its
// bytes; the set of all allowed tokens is one walk over the vocabulary's
// token trie, where a prefix no stack can continue cuts off every token that
// starts with it. The sampler asks about its best candidates one by one and
// takes the whole set only when they keep failing (sampler.cpp).
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "sampling/grammar.h"

namespace s1 {

class Tokenizer;

// A vocabulary as the grammar sees it: each token's bytes (control tokens
// have none and are never allowed) in a trie, and the end-of-generation
// tokens, allowed once the grammar accepts the output.
class GrammarVocabulary {
 public:
  // Control tokens whose text is in `markup` keep it: a model's structural
  // tokens that a grammar must be able to write (gpt-oss's <|channel|>).
  explicit GrammarVocabulary(const Tokenizer& tokenizer, const std::vector<std::string>& markup = {});

  struct Node {
    int32_t first_child = -1, next_sibling = -1;
    uint32_t tokens_begin = 0, tokens_end = 0;  // tokens whose bytes end here, in trie_tokens()
    uint8_t byte = 0;
  };
  int32_t n_vocab() const { return int32_t(bytes_.size()); }
  const std::string& bytes(int32_t token) const { return bytes_[size_t(token)]; }
  bool is_end(int32_t token) const { return is_end_[size_t(token)]; }
  const std::vector<int32_t>& end_tokens() const { return end_tokens_; }
  const std::vector<Node>& nodes() const { return nodes_; }  // [0] is the root
  const std::vector<int32_t>& trie_tokens() const { return trie_tokens_; }
  size_t max_token_bytes() const { return max_token_bytes_; }

 private:
  std::vector<std::string> bytes_;
  std::vector<bool> is_end_;
  std::vector<int32_t> end_tokens_;
  std::vector<Node> nodes_;
  std::vector<int32_t> trie_tokens_;
  size_t max_token_bytes_ = 0;
};

class GrammarMatcher {
 public:
  GrammarMatcher(std::shared_ptr<const Grammar> grammar, std::shared_ptr<const GrammarVocabulary> vocabulary);

  // Whether `token` may come next (an end-of-generation token: whether the
  // output is complete). Answers are cached until the next accept().
  bool allows(int32_t token);
  // One flag per token of the vocabulary; computed once per state.
  const std::vector<uint8_t>& allowed_mask();
  // The allowed tokens in id order, when this state's mask was already
  // computed (else null): the sampler then takes its candidates from them.
  const std::vector<int32_t>* known_allowed_tokens() const { return mask_valid_ ? &allowed_tokens_ : nullptr; }
  // Advances past `token`; s1::Error when the grammar does not allow it.
  void accept(int32_t token);

  // The output so far is a complete sentence of the grammar.
  bool accepting() const;
  // Complete, and nothing may follow but the end of generation.
  bool finished() const;

 private:
  using Stack = std::vector<uint32_t>;  // grammar positions; the top is the next element to match
  // A character arriving over several bytes (a token may end inside one).
  struct Utf8 {
    uint32_t value = 0;  // the bits so far
    int remaining = 0;   // continuation bytes still to come
    int length = 0;      // bytes of the whole character
  };
  enum class ByteResult { invalid, partial, codepoint };

  static ByteResult decode_byte(Utf8& state, uint8_t byte);
  void expand(Stack stack, std::vector<Stack>& out) const;
  void advance(const std::vector<Stack>& from, uint32_t codepoint, std::vector<Stack>& to) const;
  bool partial_viable(const std::vector<Stack>& stacks, const Utf8& partial) const;
  // Walks `bytes` from the current state; false at the first byte no stack can take.
  bool walk(const std::string& bytes, std::vector<Stack>& stacks, Utf8& partial) const;
  void mark_subtree(int32_t node, const std::vector<Stack>& stacks, Utf8 partial, size_t depth);

  std::shared_ptr<const Grammar> grammar_;
  std::shared_ptr<const GrammarVocabulary> vocabulary_;
  std::vector<Stack> stacks_;
  Utf8 partial_;
  std::unordered_map<int32_t, bool> allowed_cache_;
  std::vector<uint8_t> mask_;
  std::vector<int32_t> allowed_tokens_;  // the mask's set tokens
  bool mask_valid_ = false;
  std::vector<std::vector<Stack>> level_scratch_;  // the trie walk's stacks, one set per depth
};

}  // namespace s1
