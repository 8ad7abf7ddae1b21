#include "sampling/grammar_matcher.h"

#include <algorithm>
#include <numeric>

#include "tokenizer/tokenizer.h"
#include "util/error.h"

namespace s1 {

GrammarVocabulary::GrammarVocabulary(const Tokenizer& tokenizer, const std::vector<std::string>& markup) {
  const int32_t n = tokenizer.n_vocab();
  bytes_.resize(size_t(n));
  is_end_.resize(size_t(n));
  for (int32_t id = 0; id < n; ++id) {
    is_end_[size_t(id)] = tokenizer.is_end_of_generation(id);
    if (is_end_[size_t(id)]) {
      end_tokens_.push_back(id);
    } else if (tokenizer.type(id) != TokenType::control && tokenizer.type(id) != TokenType::unused) {
      bytes_[size_t(id)] = std::string(tokenizer.piece(id));
    } else if (const std::string text(tokenizer.piece(id, /*with_control=*/true));
               std::find(markup.begin(), markup.end(), text) != markup.end()) {
      bytes_[size_t(id)] = text;
    }
  }
  // The trie, built from the tokens in byte order: each token shares the path
  // of its common prefix with the previous one and adds nodes for the rest.
  std::vector<int32_t> order;
  for (int32_t id = 0; id < n; ++id)
    if (!bytes_[size_t(id)].empty()) order.push_back(id);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    return bytes_[size_t(a)] < bytes_[size_t(b)] || (bytes_[size_t(a)] == bytes_[size_t(b)] && a < b);
  });
  nodes_.emplace_back();
  std::vector<int32_t> path{0};        // nodes from the root along the previous token's bytes
  std::vector<int32_t> last_child{-1};  // per path node: its most recently added child
  const std::string* previous = nullptr;
  for (int32_t id : order) {
    const std::string& b = bytes_[size_t(id)];
    size_t common = 0;
    if (previous)
      while (common < b.size() && common < previous->size() && b[common] == (*previous)[common]) ++common;
    path.resize(common + 1);
    last_child.resize(common + 1);
    for (size_t i = common; i < b.size(); ++i) {
      const auto node = int32_t(nodes_.size());
      nodes_.emplace_back();
      nodes_.back().byte = uint8_t(b[i]);
      const int32_t parent = path.back();
      if (last_child.back() < 0) {
        nodes_[size_t(parent)].first_child = node;
      } else {
        nodes_[size_t(last_child.back())].next_sibling = node;
      }
      last_child.back() = node;
      path.push_back(node);
      last_child.push_back(-1);
    }
    Node& end = nodes_[size_t(path.back())];
    if (end.tokens_begin == end.tokens_end) end.tokens_begin = end.tokens_end = uint32_t(trie_tokens_.size());
    trie_tokens_.push_back(id);
    max_token_bytes_ = std::max(max_token_bytes_, b.size());
    ++end.tokens_end;
    previous = &b;
  }
}

namespace {
constexpr size_t kMaxStacks = 1024;  // parses kept at once
}  // namespace

GrammarMatcher::GrammarMatcher(std::shared_ptr<const Grammar> grammar, std::shared_ptr<const GrammarVocabulary> vocabulary)
    : grammar_(std::move(grammar)), vocabulary_(std::move(vocabulary)) {
  for (uint32_t alt : grammar_->alternatives(grammar_->root())) {
    Stack stack;
    if (grammar_->elements()[alt].kind != Grammar::Kind::end) stack.push_back(alt);
    expand(std::move(stack), stacks_);
  }
  std::sort(stacks_.begin(), stacks_.end());
  stacks_.erase(std::unique(stacks_.begin(), stacks_.end()), stacks_.end());
}

// Replaces a rule reference on top of the stack by each of its alternatives
// until every stack has characters on top (or is empty: the output may end).
void GrammarMatcher::expand(Stack stack, std::vector<Stack>& out) const {
  if (stack.empty()) {
    out.push_back(std::move(stack));
    return;
  }
  const auto& elements = grammar_->elements();
  const uint32_t pos = stack.back();
  const Grammar::Element& top = elements[pos];
  if (top.kind == Grammar::Kind::chars) {
    out.push_back(std::move(stack));
    return;
  }
  stack.pop_back();
  if (elements[pos + 1].kind != Grammar::Kind::end) stack.push_back(pos + 1);  // what follows the reference
  const auto& alternatives = grammar_->alternatives(top.first);
  for (size_t i = 0; i < alternatives.size(); ++i) {
    Stack next = i + 1 < alternatives.size() ? stack : std::move(stack);
    if (elements[alternatives[i]].kind != Grammar::Kind::end) next.push_back(alternatives[i]);
    expand(std::move(next), out);
  }
}

void GrammarMatcher::advance(const std::vector<Stack>& from, uint32_t codepoint, std::vector<Stack>& to) const {
  to.clear();
  const auto& elements = grammar_->elements();
  for (const Stack& stack : from) {
    if (stack.empty()) continue;
    const uint32_t pos = stack.back();
    if (!grammar_->matches(elements[pos], codepoint)) continue;
    Stack next(stack.begin(), stack.end() - 1);
    if (elements[pos + 1].kind != Grammar::Kind::end) next.push_back(pos + 1);
    expand(std::move(next), to);
  }
  if (to.size() > 1) {
    std::sort(to.begin(), to.end());
    to.erase(std::unique(to.begin(), to.end()), to.end());
  }
  // A very ambiguous grammar ("a"{0,1000} inside {0,1000}) can have a parse
  // per way of splitting the text: keep a bounded number of them. Every kept
  // stack is a real parse, so what is generated stays valid; only some ways
  // of continuing it may be lost.
  if (to.size() > kMaxStacks) to.resize(kMaxStacks);
}

// UTF-8 as the standard defines it: overlong forms (0xC1 0xBB for '{'),
// surrogates and codepoints past U+10FFFF are invalid, so a vocabulary's
// stray byte tokens cannot spell a character the grammar allows in a way a
// JSON parser would refuse.
namespace {
constexpr uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};  // per encoded length
}  // namespace

GrammarMatcher::ByteResult GrammarMatcher::decode_byte(Utf8& state, uint8_t byte) {
  if (state.remaining > 0) {
    if ((byte & 0xC0) != 0x80) return ByteResult::invalid;
    state.value = (state.value << 6) | (byte & 0x3F);
    if (--state.remaining > 0) return ByteResult::partial;
    const uint32_t cp = state.value;
    if (cp < kSmallest[state.length] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return ByteResult::invalid;
    return ByteResult::codepoint;
  }
  if (byte < 0x80) {
    state.value = byte;
    return ByteResult::codepoint;
  }
  const int length = byte >= 0xF5 ? 0 : byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC2 ? 2 : 0;
  if (length == 0) return ByteResult::invalid;
  state.value = byte & (0x7F >> length);
  state.remaining = length - 1;
  state.length = length;
  return ByteResult::partial;
}

// A character cut by the end of a token: some stack must be able to take a
// character that starts with the bytes so far.
bool GrammarMatcher::partial_viable(const std::vector<Stack>& stacks, const Utf8& partial) const {
  const int shift = 6 * partial.remaining;
  uint32_t lo = partial.value << shift, hi = lo | ((1u << shift) - 1);
  lo = std::max(lo, kSmallest[partial.length]);
  hi = std::min(hi, 0x10FFFFu);
  if (lo > hi || (lo >= 0xD800 && hi <= 0xDFFF)) return false;  // only overlong, too large or surrogates left
  for (const Stack& stack : stacks)
    if (!stack.empty() && grammar_->may_match(grammar_->elements()[stack.back()], lo, hi)) return true;
  return false;
}

bool GrammarMatcher::walk(const std::string& bytes, std::vector<Stack>& stacks, Utf8& partial) const {
  std::vector<Stack> next;
  for (char c : bytes) {
    switch (decode_byte(partial, uint8_t(c))) {
      case ByteResult::invalid: return false;
      case ByteResult::partial: break;
      case ByteResult::codepoint:
        advance(stacks, partial.value, next);
        stacks.swap(next);
        if (stacks.empty()) return false;
        break;
    }
  }
  return partial.remaining == 0 || partial_viable(stacks, partial);
}

bool GrammarMatcher::accepting() const {
  return partial_.remaining == 0 && std::any_of(stacks_.begin(), stacks_.end(), [](const Stack& s) { return s.empty(); });
}

bool GrammarMatcher::finished() const {
  return partial_.remaining == 0 && std::all_of(stacks_.begin(), stacks_.end(), [](const Stack& s) { return s.empty(); });
}

bool GrammarMatcher::allows(int32_t token) {
  if (token < 0 || token >= vocabulary_->n_vocab()) return false;
  if (mask_valid_) return mask_[size_t(token)] != 0;
  if (vocabulary_->is_end(token)) return accepting();
  const std::string& bytes = vocabulary_->bytes(token);
  if (bytes.empty()) return false;
  auto [it, added] = allowed_cache_.try_emplace(token, false);
  if (added) {
    std::vector<Stack> stacks = stacks_;
    Utf8 partial = partial_;
    it->second = walk(bytes, stacks, partial);
  }
  return it->second;
}

void GrammarMatcher::mark_subtree(int32_t node_index, const std::vector<Stack>& stacks, Utf8 partial, size_t depth) {
  const auto& nodes = vocabulary_->nodes();
  const auto& trie_tokens = vocabulary_->trie_tokens();
  for (int32_t child = nodes[size_t(node_index)].first_child; child >= 0; child = nodes[size_t(child)].next_sibling) {
    const GrammarVocabulary::Node& node = nodes[size_t(child)];
    Utf8 state = partial;
    const std::vector<Stack>* after = &stacks;
    switch (decode_byte(state, node.byte)) {
      case ByteResult::invalid: continue;
      case ByteResult::partial:
        if (!partial_viable(stacks, state)) continue;
        break;
      case ByteResult::codepoint: {
        std::vector<Stack>& next = level_scratch_[depth];
        advance(stacks, state.value, next);
        if (next.empty()) continue;
        after = &next;
        break;
      }
    }
    for (uint32_t i = node.tokens_begin; i < node.tokens_end; ++i) mask_[size_t(trie_tokens[i])] = 1;
    // Deeper levels use their own scratch, so `after` survives the recursion.
    if (node.first_child >= 0) mark_subtree(child, *after, state, depth + 1);
  }
}

const std::vector<uint8_t>& GrammarMatcher::allowed_mask() {
  if (mask_valid_) return mask_;
  mask_.assign(size_t(vocabulary_->n_vocab()), 0);
  level_scratch_.resize(vocabulary_->max_token_bytes() + 1);  // never resized during the walk
  mark_subtree(0, stacks_, partial_, 0);
  if (accepting())
    for (int32_t end : vocabulary_->end_tokens()) mask_[size_t(end)] = 1;
  allowed_tokens_.clear();
  for (size_t t = 0; t < mask_.size(); ++t)
    if (mask_[t]) allowed_tokens_.push_back(int32_t(t));
  mask_valid_ = true;
  return mask_;
}

void GrammarMatcher::accept(int32_t token) {
  if (!allows(token)) fail("grammar: token {} cannot continue the output here", token);
  allowed_cache_.clear();
  mask_valid_ = false;
  if (vocabulary_->is_end(token)) {
    stacks_ = {Stack{}};
    return;
  }
  const bool ok = walk(vocabulary_->bytes(token), stacks_, partial_);
  if (!ok) fail("grammar: token {} cannot continue the output here", token);
}

}  // namespace s1
