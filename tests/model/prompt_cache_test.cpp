// The prompt cache: a radix tree of finished sequences. Longest-prefix
// lookup across entries and inside an edge, entries a longer one replaces,
// least-recently-used eviction under the entry and byte caps and under pool
// pressure, recurrent models served only by whole entries, and (the outside
// truth) logits after forking a cached prefix equal a fresh computation.
#include "model/prompt_cache.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "model/context.h"
#include "model/model.h"
#include "support/test_support.h"
#include "util/error.h"

namespace s1 {
namespace {

std::unique_ptr<Model> conformance_model(const std::string& name) {
  return Model::load((s1test::shared_dir() / "conformance" / "models" / (name + ".gguf")).string());
}

// n made-up token ids below 250 (the smallest test vocabulary's size).
std::vector<int32_t> tokens(int n, int salt) {
  std::vector<int32_t> t;
  for (int i = 0; i < n; ++i) t.push_back((i * 37 + salt * 101 + 5) % 250);
  return t;
}

std::vector<int32_t> concat(std::vector<int32_t> a, const std::vector<int32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::vector<int32_t> head(const std::vector<int32_t>& t, size_t n) { return {t.begin(), t.begin() + ptrdiff_t(n)}; }

int computed_sequence(Context& ctx, const std::vector<int32_t>& t) {
  const int seq = ctx.new_sequence();
  ctx.append(seq, t);
  return seq;
}

// The last position's logits of `prompt`, computed from a cached prefix:
// fork, cut back to the match, compute the rest.
std::vector<float> logits_from_cache(Context& ctx, PromptCache& cache, const std::vector<int32_t>& prompt,
                                     size_t expected_match) {
  const PromptCache::Match m = cache.find(prompt, prompt.size() - 1);
  EXPECT_EQ(m.length, expected_match);
  if (m.seq < 0) return {};
  const int seq = ctx.fork(m.seq);
  ctx.truncate(seq, int(m.length));
  const auto rest = std::span(prompt).subspan(m.length);
  const auto logits = ctx.append(seq, rest);
  std::vector<float> out(logits.begin(), logits.end());
  EXPECT_EQ(ctx.computed(seq), int64_t(rest.size()));  // the prefix was not computed again
  ctx.remove(seq);
  return out;
}

std::vector<float> fresh_logits(const Model& model, const std::vector<int32_t>& prompt) {
  Context fresh(model, ContextParams{.n_ctx = 512, .n_threads = 1});
  const auto logits = fresh.append(fresh.new_sequence(), prompt);
  return {logits.begin(), logits.end()};
}

void expect_close(const std::vector<float>& a, const std::vector<float>& b) {
  ASSERT_EQ(a.size(), b.size());
  float diff = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) diff = std::max(diff, std::fabs(a[i] - b[i])), scale = std::max(scale, std::fabs(b[i]));
  EXPECT_LT(diff, 1e-4f * scale);
}

TEST(PromptCache, FindsTheLongestPrefixAcrossEntriesAndInsideAnEdge) {
  auto model = conformance_model("qwen2-f32");
  Context ctx(*model, ContextParams{.n_ctx = 1024, .n_threads = 1});
  PromptCache cache(ctx, {});
  const auto a = tokens(40, 1);
  const auto b = concat(head(a, 20), tokens(30, 2));  // branches off a after 20 tokens
  cache.insert(a, computed_sequence(ctx, a));
  cache.insert(b, computed_sequence(ctx, b));
  EXPECT_EQ(cache.entries(), 2);

  // Ends inside a's edge: a, cut back to 25 positions.
  const auto inside_a = concat(head(a, 25), tokens(10, 3));
  expect_close(logits_from_cache(ctx, cache, inside_a, 25), fresh_logits(*model, inside_a));
  // Follows b's branch.
  const auto along_b = concat(head(b, 33), tokens(5, 4));
  expect_close(logits_from_cache(ctx, cache, along_b, 33), fresh_logits(*model, along_b));
  // The whole of a asked again: all but its last token (whose logits are needed).
  EXPECT_EQ(cache.find(a, a.size() - 1).length, a.size() - 1);
  EXPECT_EQ(cache.find(tokens(20, 9), 19).seq, -1);  // nothing in common
  EXPECT_EQ(ctx.kv_cache().live_sequences(), 2);     // only the entries
}

TEST(PromptCache, AnEntryThatExtendsAnotherReplacesIt) {
  auto model = conformance_model("qwen2-f32");
  Context ctx(*model, ContextParams{.n_ctx = 1024, .n_threads = 1});
  PromptCache cache(ctx, {});
  const auto turn1 = tokens(30, 1);
  const int first = computed_sequence(ctx, turn1);
  cache.insert(turn1, first);
  // The next turn forks the first and appends: it holds the first whole.
  const auto turn2 = concat(turn1, tokens(20, 2));
  const int second = ctx.fork(cache.find(turn2, turn2.size() - 1).seq);
  ctx.append(second, std::span(turn2).subspan(turn1.size()));
  cache.insert(turn2, second);
  EXPECT_EQ(cache.entries(), 1);
  EXPECT_EQ(cache.find(turn2, turn2.size()).seq, second);
  EXPECT_EQ(cache.find(turn1, turn1.size()).length, turn1.size());  // served by the longer one
  EXPECT_EQ(ctx.kv_cache().live_sequences(), 1);
}

TEST(PromptCache, EvictsTheLeastRecentlyUsedUnderItsCaps) {
  auto model = conformance_model("qwen2-f32");
  Context ctx(*model, ContextParams{.n_ctx = 1024, .n_threads = 1});
  {
    PromptCache cache(ctx, {.max_entries = 2});
    const auto x = tokens(20, 1), y = tokens(20, 2), z = tokens(20, 3);
    cache.insert(x, computed_sequence(ctx, x));
    cache.insert(y, computed_sequence(ctx, y));
    EXPECT_GE(cache.find(x, 10).seq, 0);  // x used after y
    cache.insert(z, computed_sequence(ctx, z));
    EXPECT_EQ(cache.entries(), 2);
    EXPECT_EQ(cache.find(y, 10).seq, -1);
    EXPECT_GE(cache.find(x, 10).seq, 0);
    EXPECT_GE(cache.find(z, 10).seq, 0);
  }
  EXPECT_EQ(ctx.kv_cache().live_sequences(), 0);  // the cache's destructor frees its sequences

  const size_t block = ctx.kv_cache().block_bytes();
  constexpr int B = KvCache::kBlockTokens;
  PromptCache cache(ctx, {.max_bytes = 3 * block});
  const auto a = tokens(2 * B, 1);
  const auto b = concat(head(a, B), tokens(B, 2));  // shares a's first block
  cache.insert(a, computed_sequence(ctx, a));
  const int fork = ctx.fork(cache.find(b, B).seq);
  ctx.truncate(fork, B);
  ctx.append(fork, std::span(b).subspan(B));
  cache.insert(b, fork);
  EXPECT_EQ(cache.entries(), 2);
  EXPECT_EQ(cache.bytes(), 3 * block);  // the shared block counts once
  const auto c = tokens(B, 3);
  cache.insert(c, computed_sequence(ctx, c));  // 4 blocks: a, the least recent, goes
  EXPECT_LE(cache.bytes(), 3 * block);
  EXPECT_EQ(cache.entries(), 2);
  EXPECT_EQ(cache.find(concat(head(a, 2 * B - 1), {7}), 2 * B - 1).length, size_t(B));  // b's shared block only
}

TEST(PromptCache, GivesItsBlocksBackToRunningSequences) {
  auto model = conformance_model("qwen2-f32");
  constexpr int B = KvCache::kBlockTokens;
  Context ctx(*model, ContextParams{.n_ctx = 4 * B, .n_threads = 1});
  PromptCache cache(ctx, {});
  const auto kept = tokens(3 * B, 1);
  cache.insert(kept, computed_sequence(ctx, kept));
  EXPECT_EQ(ctx.kv_cache().free_blocks(), 1);
  const int running = ctx.new_sequence();
  EXPECT_TRUE(cache.release_blocks(ctx.kv_cache().blocks_needed(running, 2 * B)));
  EXPECT_EQ(cache.entries(), 0);
  ctx.append(running, tokens(2 * B, 2));
  EXPECT_FALSE(cache.release_blocks(5));  // more than the pool has
}

TEST(PromptCache, InsertingASequenceOfAnotherLengthIsAnErrorThatFreesIt) {
  auto model = conformance_model("qwen2-f32");
  Context ctx(*model, ContextParams{.n_ctx = 256, .n_threads = 1});
  PromptCache cache(ctx, {});
  EXPECT_THROW(cache.insert(tokens(5, 1), computed_sequence(ctx, tokens(6, 1))), Error);
  EXPECT_EQ(ctx.kv_cache().live_sequences(), 0);
}

// Qwen3.5's recurrent state is its last position's: an entry serves only a
// prompt that extends it whole, never cut back.
TEST(PromptCache, RecurrentModelsAreServedByWholeEntriesOnly) {
  const auto path = (s1test::temp_dir("prompt-cache-qwen35") / "qwen35.gguf").string();
  const auto made = s1test::run_s1({"mkmodel", "--arch", "qwen35", "--seed", "4", "-o", path});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  auto model = Model::load(path);
  Context ctx(*model, ContextParams{.n_ctx = 512, .n_threads = 1});
  PromptCache cache(ctx, {});
  const auto a = tokens(24, 1);
  cache.insert(a, computed_sequence(ctx, a));
  const auto other = tokens(40, 2);
  cache.insert(other, computed_sequence(ctx, other));

  const auto extends_a = concat(a, tokens(8, 3));
  expect_close(logits_from_cache(ctx, cache, extends_a, a.size()), fresh_logits(*model, extends_a));
  EXPECT_EQ(cache.find(concat(head(a, 20), tokens(8, 3)), 27).seq, -1);  // would need cutting a back
  // Inside the other's edge: no whole entry on the way.
  EXPECT_EQ(cache.find(concat(head(other, 30), tokens(4, 5)), 33).seq, -1);
  EXPECT_EQ(cache.entries(), 2);
}

}  // namespace
}  // namespace s1
