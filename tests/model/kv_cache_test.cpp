// The paged KV cache: block accounting, fork sharing, copy on write, freeing.
#include "model/kv_cache.h"

#include <gtest/gtest.h>

#include <cstring>

#include "util/error.h"

namespace {

using s1::KvCache;
constexpr int B = KvCache::kBlockTokens;

void write_pos(KvCache& kv, int seq, int pos, float value) {
  for (int layer = 0; layer < 2; ++layer) {
    auto* k = reinterpret_cast<float*>(kv.k_row(layer, seq, pos));
    auto* v = reinterpret_cast<float*>(kv.v_row(layer, seq, pos));
    for (int i = 0; i < kv.kv_dim(); ++i) k[i] = v[i] = value + layer;
  }
}

float read_k(KvCache& kv, int seq, int pos, int layer = 0) {
  return reinterpret_cast<float*>(kv.k_row(layer, seq, pos))[0];
}

TEST(KvCache, AppendTakesWholeBlocksAndRemoveFreesThem) {
  KvCache kv(2, 8, 4 * B, 4, s1::DType::F32);
  EXPECT_EQ(kv.capacity_tokens(), 4 * B);
  const int a = kv.new_sequence();
  kv.append(a, B + 1);
  EXPECT_EQ(kv.length(a), B + 1);
  EXPECT_EQ(kv.free_blocks(), 2);
  kv.append(a, B - 1);  // fills the second block exactly
  EXPECT_EQ(kv.free_blocks(), 2);
  kv.remove(a);
  EXPECT_EQ(kv.free_blocks(), 4);
  EXPECT_FALSE(kv.exists(a));
}

TEST(KvCache, ForkSharesBlocksAndCopiesAPartialTailOnWrite) {
  KvCache kv(2, 8, 8 * B, 4, s1::DType::F32);
  const int parent = kv.new_sequence();
  kv.append(parent, B + 4);
  for (int p = 0; p < B + 4; ++p) write_pos(kv, parent, p, float(p));
  const int free_before = kv.free_blocks();

  const int child = kv.fork(parent);
  EXPECT_EQ(kv.length(child), B + 4);
  EXPECT_EQ(kv.computed(child), 0);
  EXPECT_EQ(kv.computed(parent), B + 4);
  EXPECT_EQ(kv.free_blocks(), free_before);  // nothing copied yet
  EXPECT_EQ(kv.k_row(0, child, 3), kv.k_row(0, parent, 3));

  EXPECT_EQ(kv.blocks_needed(child, 1), 1);  // the shared partial tail
  kv.append(child, 1);
  write_pos(kv, child, B + 4, 100.0f);
  EXPECT_EQ(kv.free_blocks(), free_before - 1);
  EXPECT_EQ(kv.k_row(0, child, 3), kv.k_row(0, parent, 3));          // full block still shared
  EXPECT_NE(kv.k_row(0, child, B + 1), kv.k_row(0, parent, B + 1));  // tail copied
  for (int p = B; p < B + 4; ++p) {
    EXPECT_EQ(read_k(kv, child, p), float(p));
    EXPECT_EQ(read_k(kv, child, p, 1), float(p) + 1);
  }
  // The parent's own next position is untouched by the child's write.
  kv.append(parent, 1);
  write_pos(kv, parent, B + 4, 7.0f);
  EXPECT_EQ(read_k(kv, child, B + 4), 100.0f);

  kv.remove(parent);
  EXPECT_EQ(read_k(kv, child, 2), 2.0f);  // still held by the child
  kv.remove(child);
  EXPECT_EQ(kv.free_blocks(), 8);
}

TEST(KvCache, TruncateFreesWholeBlocksAndAppendOverwrites) {
  KvCache kv(2, 8, 4 * B, 2, s1::DType::F32);
  const int a = kv.new_sequence();
  kv.append(a, 2 * B + 2);
  for (int p = 0; p < 2 * B + 2; ++p) write_pos(kv, a, p, float(p));
  const int b = kv.fork(a);
  kv.truncate(b, B + 3);  // leaves the third block to a alone, shares a partial second block
  EXPECT_EQ(kv.length(b), B + 3);
  EXPECT_EQ(kv.free_blocks(), 1);
  kv.append(b, 1);  // copy on write of the shared second block
  write_pos(kv, b, B + 3, 99.0f);
  EXPECT_EQ(read_k(kv, a, B + 3), float(B + 3));
  EXPECT_EQ(read_k(kv, b, B + 2), float(B + 2));
  EXPECT_EQ(read_k(kv, b, B + 3), 99.0f);
  EXPECT_THROW(kv.truncate(b, B + 5), s1::Error);
  kv.truncate(b, 0);
  EXPECT_EQ(kv.free_blocks(), 1);  // b's own copy; the first block is still a's
  kv.remove(a);
  EXPECT_EQ(kv.free_blocks(), 4);
}

TEST(KvCache, FullPoolAndSequenceSlotsAreErrors) {
  KvCache kv(1, 4, 2 * B, 2, s1::DType::F16);
  const int a = kv.new_sequence();
  kv.append(a, 2 * B);
  EXPECT_THROW(kv.append(a, 1), s1::Error);
  EXPECT_EQ(kv.length(a), 2 * B);  // unchanged by the failed append
  kv.new_sequence();
  EXPECT_THROW(kv.new_sequence(), s1::Error);
  EXPECT_THROW(kv.length(5), s1::Error);
  EXPECT_THROW(KvCache(1, 4, 16, 1, s1::DType::Q8_0), s1::Error);
}

TEST(KvCache, RunsCoverPositionsInBlockOrder) {
  KvCache kv(2, 4, 4 * B, 1, s1::DType::F32);
  const int a = kv.new_sequence();
  kv.append(a, 2 * B + 3);
  std::vector<s1::KvRun> runs;
  kv.runs(1, a, 0, 2 * B + 1, runs);
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0].n_rows, B);
  EXPECT_EQ(runs[2].n_rows, 1);
  EXPECT_EQ(runs[1].k, kv.k_row(1, a, B));
  EXPECT_EQ(runs[2].v, kv.v_row(1, a, 2 * B));
}

TEST(KvCache, RunsOfAWindowStartInsideABlock) {
  KvCache kv(2, 4, 4 * B, 1, s1::DType::F16);
  const int a = kv.new_sequence();
  kv.append(a, 2 * B + 3);
  std::vector<s1::KvRun> runs;
  kv.runs(0, a, B - 2, 2 * B + 1, runs);  // a window of B + 3 positions
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0].n_rows, 2);
  EXPECT_EQ(runs[0].k, kv.k_row(0, a, B - 2));
  EXPECT_EQ(runs[0].v, kv.v_row(0, a, B - 2));
  EXPECT_EQ(runs[1].n_rows, B);
  EXPECT_EQ(runs[2].n_rows, 1);
  kv.runs(0, a, B + 1, B + 3, runs);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].n_rows, 2);
  EXPECT_EQ(runs[0].k, kv.k_row(0, a, B + 1));
}

}  // namespace
