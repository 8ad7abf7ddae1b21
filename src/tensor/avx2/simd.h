#pragma once
// Helpers of the AVX2 matmul families. Internal linkage (an unnamed
// namespace): every file of this folder gets its own copy, built for AVX2, and
// the linker has none to hand the baseline code.
#include "tensor/matmul_kernels.h"
#include "tensor/simd_x86.h"

namespace s1::avx2 {
namespace {

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline int hsum(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
  return _mm_cvtsi128_si32(s);
}

inline float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

// 32 floats times `inv`, rounded to int8 in order; *sum gets the sum of each 16.
inline __m256i quantize32(const float* x, __m256 inv, int* sum_low, int* sum_high) {
  __m256i i[4];
  for (int k = 0; k < 4; ++k) i[k] = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * k), inv));
  *sum_low = hsum(_mm256_add_epi32(i[0], i[1]));
  *sum_high = hsum(_mm256_add_epi32(i[2], i[3]));
  // The packs interleave 128-bit lanes: dwords [i0 0-3, i1 0-3, i2 0-3, i3 0-3, i0 4-7, ...] back to order.
  const __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(i[0], i[1]), _mm256_packs_epi32(i[2], i[3]));
  return _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// v[k] = dword k of each of v[0..7] (lane i from v[i]): an 8 x 8 transpose.
// Prefill lays blocks out so, that int32 lane i of every vector belongs to
// block (or chunk) i, and products of several vectors add up before the
// block's scale applies.
inline void transpose8(__m256i* v) {
  __m256i t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_epi32(v[i], v[i + 1]);
    t[i + 1] = _mm256_unpackhi_epi32(v[i], v[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_unpacklo_epi64(t[i], t[i + 2]);
    u[i + 1] = _mm256_unpackhi_epi64(t[i], t[i + 2]);
    u[i + 2] = _mm256_unpacklo_epi64(t[i + 1], t[i + 3]);
    u[i + 3] = _mm256_unpackhi_epi64(t[i + 1], t[i + 3]);
  }
  for (int k = 0; k < 4; ++k) {
    v[k] = _mm256_permute2x128_si256(u[k], u[k + 4], 0x20);
    v[k + 4] = _mm256_permute2x128_si256(u[k], u[k + 4], 0x31);
  }
}

// Tokens per prefill block: every weight row is unpacked once per block, so a
// block takes as many tokens as keep the activations prefill reads within
// about 256 KB of L2 (Qwen2.5-0.5B's 896 columns: 168 tokens, 2.6 times fewer
// unpackings than 64), at least matmul_kernels::kTokenBlock, a multiple of the
// tile's tokens.
inline int64_t prefill_block_tokens(int64_t n_tokens, size_t bytes_per_token, int tile_tokens) {
  constexpr size_t kActivationBytes = size_t(256) << 10;
  int64_t block = int64_t(kActivationBytes / bytes_per_token) / tile_tokens * tile_tokens;
  if (block < matmul_kernels::kTokenBlock) block = matmul_kernels::kTokenBlock;
  return block < n_tokens ? block : n_tokens;
}

// Prefill fetches the next row tile's weights into L2 while a tile computes:
// in a call's first token block they come from memory, and the hardware
// prefetcher, idle through the tile, has not run ahead of them.
inline void prefetch_rows(const uint8_t* first, int n_rows, size_t row_stride, size_t row_bytes) {
  for (int r = 0; r < n_rows; ++r)
    for (size_t i = 0; i < row_bytes; i += 64) _mm_prefetch((const char*)first + r * row_stride + i, _MM_HINT_T1);
}

// Integer adds reassociate: left free, GCC computes all of a tile's products
// before it sums them, and spills them. An empty asm pins each partial sum.
inline __m256i pinned(__m256i v) {
  asm("" : "+x"(v));
  return v;
}

}  // namespace
}  // namespace s1::avx2
