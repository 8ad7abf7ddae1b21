// Q4_0 / Q5_0 / Q8_0 / MXFP4 weights: 32-element blocks with an f16 scale (an
// E8M0 power of two for MXFP4). Activations are quantized to int8 with one
// scale per block (as llama.cpp's q8_0) and the products run on AVX-512 VNNI
// (vpdpbusd: unsigned x signed bytes).
//
// Work goes by groups of 8 blocks (256 elements = 4 zmm of bytes), laid out
// so that each 32-bit lane of all 4 vectors holds values of one block: lane
// 2b + h of vector k holds elements 8k + 4h .. 8k + 4h + 3 of block b (qword k
// of each block, side by side). Four vpdpbusd then sum half a block per lane in
// integers, and the block scales (each duplicated over its two lanes) are
// applied once per group, not once per 64 values: one conversion, one
// multiply of the two scales and one FMA per group, token and row, where
// element order (two blocks per vector) needed four of each. On a core that
// issues one 512-bit FMA-class operation per cycle (vpdpbusd, FMA and multiply
// share it), that took the prefill tile from 36 such operations per 768
// multiply-adds to 18 (bench_matmul, Q8_0, 512 tokens, 1 thread: 118 -> ~180
// GFLOP/s), and a decode step with 8 tokens from 100 per group and row to 52.
//
// Weights are made unsigned, u = w + offset (Q8_0: 128, Q4_0: 8, Q5_0: 16,
// MXFP4: 12, its nibbles looked up as the doubled E2M1 value plus 12), and
// activations stay signed, so vpdpbusd(u, a) = sum(w * a) + offset * sum(a):
// each token's -offset * sum(a) per lane is computed once when the activations
// are prepared and starts every row's sum, and no weight row needs a
// correction of its own. Rows are transposed into the group layout in
// registers (qword permutes), from the file for decode and into a per-thread
// scratch (320 bytes a group: 4 vectors and the 16 scales) for prefill.
//
// Decode prefetches the weights ahead even for one token: the hardware
// prefetcher alone left a single token waiting on memory (bench_matmul, 1
// token, weights from memory, 1 thread: 16-42 % less time for every type and
// shape, e.g. Q8_0 2880 x 2880 0.98 -> 0.81 ms, Q5_0 0.91 -> 0.53 ms).
#include "tensor/simd_x86.h"

#include <algorithm>
#include <cstddef>

#include "tensor/avx512/deinterleave.h"
#include "tensor/blocks.h"
#include "tensor/matmul_kernels.h"

namespace s1::avx512 {
namespace {

using namespace matmul_kernels;

constexpr int kGroupBlocks = kGroupCols / QK;  // 8
constexpr int kGroupVectors = 4;               // 64-byte vectors of values per group
constexpr int kRows = 2;
constexpr int kTokens = 6;  // a 2 x 6 tile: 12 integer sums + 12 accumulators in registers
// A token's activation group: 16 block scales (lane 2b + h: block b's), 16
// corrections (-offset * sum of the lane's 4 x 4 values), then the 4 vectors.
constexpr size_t kActScales = 0, kActCorrections = 64, kActValues = 128;
constexpr size_t kActGroupBytes = kActValues + kGroupVectors * 64;
// An unpacked weight group: the 4 vectors of u, then the 16 block scales.
constexpr size_t kWeightScales = kGroupVectors * 64;
constexpr size_t kWeightGroupBytes = kWeightScales + 64;

template <DType T>
using BlockOf = std::conditional_t<
    T == DType::Q8_0, block_q8_0,
    std::conditional_t<T == DType::Q4_0, block_q4_0, std::conditional_t<T == DType::Q5_0, block_q5_0, block_mxfp4>>>;

int64_t n_groups(int64_t n_blocks) { return (n_blocks + kGroupBlocks - 1) / kGroupBlocks; }

constexpr int unsigned_offset(DType type) {
  return type == DType::Q8_0 ? 128 : type == DType::Q4_0 ? 8 : type == DType::Q5_0 ? 16 : 12;
}

// Spreads 8 block values (lanes 0-7) over the group's 16 lanes, block b's to lanes 2b and 2b + 1.
inline __m512 pair_lanes(__m256 blocks) {
  return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7),
                               _mm512_castps256_ps512(blocks));
}

// Whether block b of a group is in the row: Known blocks (a compile-time count,
// so the loads of whole groups and of the half group that ends a 896-column
// row carry no tests), or n when Known is 0.
template <int Known>
inline bool present(int b, int n) {
  return b < (Known ? Known : n);
}

// 8 blocks of 32 bytes (block b's at p + b * stride; blocks from n on read as
// zero) into the group layout: vector k = qword k of every block, block b's at qword b.
template <int Known>
inline void transpose_qwords(const uint8_t* p, size_t stride, int n, __m512i v[kGroupVectors]) {
  auto block = [&](int b) {
    return present<Known>(b, n) ? _mm256_loadu_si256((const __m256i*)(p + b * stride)) : _mm256_setzero_si256();
  };
  __m512i z[4];  // z[j] = blocks 2j and 2j + 1, qwords 0-3 each
  S1_UNROLL
  for (int j = 0; j < 4; ++j) z[j] = _mm512_inserti64x4(_mm512_castsi256_si512(block(2 * j)), block(2 * j + 1), 1);
  deinterleave4<8>(z, v);
}

// The same for 8 blocks of 16 nibble bytes: lo = qword 0 of every block (the
// low nibbles are elements 0-7, the high 16-23), hi = qword 1 (8-15, 24-31).
template <int Known>
inline void transpose_nibble_qwords(const uint8_t* p, size_t stride, int n, __m512i& lo, __m512i& hi) {
  auto block = [&](int b) {
    return present<Known>(b, n) ? _mm_loadu_si128((const __m128i*)(p + b * stride)) : _mm_setzero_si128();
  };
  __m512i z[2];  // blocks 4j .. 4j + 3
  S1_UNROLL
  for (int j = 0; j < 2; ++j) {
    z[j] = _mm512_castsi128_si512(block(4 * j));
    z[j] = _mm512_inserti32x4(z[j], block(4 * j + 1), 1);
    z[j] = _mm512_inserti32x4(z[j], block(4 * j + 2), 2);
    z[j] = _mm512_inserti32x4(z[j], block(4 * j + 3), 3);
  }
  lo = _mm512_permutex2var_epi64(z[0], _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14), z[1]);
  hi = _mm512_permutex2var_epi64(z[0], _mm512_setr_epi64(1, 3, 5, 7, 9, 11, 13, 15), z[1]);
}

// A field of a block: `bytes` (2 or 4) at `offset`. Two fields of each block of
// a group come out as 32 words in group order: word i < 16 is word i % 2 of the
// first field of block i / 2, word 16 + i the same of the second (a 2-byte
// field gives its one word twice: an f16 scale duplicated over its block's two
// lanes). The fields lie a block's size apart at even offsets, so the group is
// read as up to four 64-byte pieces (masked past block n - 1's fields, so
// nothing past the row is touched) and one or two word permutes (and a blend)
// pick them out, where an 8-lane gather was slower (Q5_0 at 1 token, 1
// thread: 316 -> 257 us on 4864 x 896) and so were scalar inserts for Q4_0's
// scales (171 -> 129 us).
struct Field {
  size_t offset, bytes;
};
struct WordPicks {
  short low[32];   // vpermt2w indices into pieces 0 and 1
  short high[32];  // into pieces 2 and 3
  uint32_t from_high = 0;
};

// Bytes from a group's start through the fields of its block `last`.
constexpr size_t field_end(size_t stride, int last, Field a, Field b) {
  const size_t end_a = a.offset + a.bytes, end_b = b.offset + b.bytes;
  return stride * size_t(last) + (end_a > end_b ? end_a : end_b);
}

constexpr WordPicks word_picks(size_t stride, Field a, Field b) {
  WordPicks w{};
  for (int i = 0; i < 32; ++i) {
    const Field f = i < 16 ? a : b;
    const int lane = i % 16;
    const size_t word = (stride * size_t(lane / 2) + f.offset) / 2 + (f.bytes == 4 ? size_t(lane % 2) : 0);
    const short index = short(word % 64);  // words 32-63 of a pair of pieces: the second one
    if (word < 64) {
      w.low[i] = index;
    } else {
      w.high[i] = index;
      w.from_high |= 1u << i;
    }
  }
  return w;
}

template <size_t Stride, Field A, Field B, int Known>
inline __m512i pick_words(const uint8_t* p, int n) {
  static_assert(Stride % 2 == 0 && A.offset % 2 == 0 && B.offset % 2 == 0);
  static constexpr WordPicks picks = word_picks(Stride, A, B);
  constexpr int kPieces = int(field_end(Stride, kGroupBlocks - 1, A, B) + 63) / 64;
  const int bytes = int(field_end(Stride, (Known ? Known : n) - 1, A, B));
  __m512i piece[4];
  S1_UNROLL
  for (int i = 0; i < 4; ++i) {
    const int left = bytes - 64 * i;
    piece[i] = i >= kPieces || left <= 0 ? _mm512_setzero_si512()
               : left >= 64            ? _mm512_loadu_si512(p + 64 * i)
                                       : _mm512_maskz_loadu_epi8((__mmask64(1) << left) - 1, p + 64 * i);
  }
  const __m512i low = _mm512_permutex2var_epi16(piece[0], _mm512_loadu_si512(picks.low), piece[1]);
  if constexpr (kPieces <= 2) return low;
  const __m512i high = _mm512_permutex2var_epi16(piece[2], _mm512_loadu_si512(picks.high), piece[3]);
  return _mm512_mask_mov_epi16(low, __mmask32(picks.from_high), high);
}

// MXFP4 exponents minus 128 as floats, lanes 0-7, read without touching a
// byte past block n - 1's exponent (17 bytes apart: block i's at byte 17i, so
// in 16-byte lane i % 4 of the first or second 64 bytes, at byte i of the
// lane): one vpshufb per 64 bytes and one vpermt2d gather them into lanes 0-7.
inline __m256 group_exponents(const block_mxfp4* blk, int n) {
  const auto* p = reinterpret_cast<const uint8_t*>(blk);
  __m512i lo, hi;
  if (n == kGroupBlocks) {
    lo = _mm512_loadu_si512(p);
    hi = _mm512_loadu_si512(p + 64);
  } else {
    const int bytes = int(sizeof(block_mxfp4)) * (n - 1) + 1;
    lo = _mm512_maskz_loadu_epi8(bytes >= 64 ? ~__mmask64(0) : (__mmask64(1) << bytes) - 1, p);
    hi = _mm512_maskz_loadu_epi8(bytes > 64 ? (__mmask64(1) << (bytes - 64)) - 1 : __mmask64(0), p + 64);
  }
  const int z = int(0x80808080);
  lo = _mm512_shuffle_epi8(lo, _mm512_setr_epi32(int(0x80808000), z, z, z, int(0x80808001), z, z, z,
                                                 int(0x80808002), z, z, z, int(0x80808003), z, z, z));
  hi = _mm512_shuffle_epi8(hi, _mm512_setr_epi32(int(0x80808004), z, z, z, int(0x80808005), z, z, z,
                                                 int(0x80808006), z, z, z, int(0x80808007), z, z, z));
  const __m512i e = _mm512_permutex2var_epi32(
      lo, _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 0, 0, 0, 0, 0, 0, 0), hi);
  return _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm512_castsi512_si256(e), _mm256_set1_epi32(128)));
}

// Word b of v set to x (b must be a constant once unrolled).
inline __m128i insert_word(__m128i v, uint16_t x, int b) {
  switch (b) {
    case 0: return _mm_insert_epi16(v, x, 0);
    case 1: return _mm_insert_epi16(v, x, 1);
    case 2: return _mm_insert_epi16(v, x, 2);
    case 3: return _mm_insert_epi16(v, x, 3);
    case 4: return _mm_insert_epi16(v, x, 4);
    case 5: return _mm_insert_epi16(v, x, 5);
    case 6: return _mm_insert_epi16(v, x, 6);
    default: return _mm_insert_epi16(v, x, 7);
  }
}

// One group of a weight row in registers: u = w + offset in the group layout, and the block scales.
struct WeightGroup {
  __m512i u[kGroupVectors];
  __m512 d;
};

// Blocks [0, n) of the group starting at `row`.
template <DType T, int Known>
inline WeightGroup load_group(const uint8_t* row, int n) {
  WeightGroup g;
  if constexpr (T == DType::Q8_0) {
    transpose_qwords<Known>(row + offsetof(block_q8_0, qs), sizeof(block_q8_0), n, g.u);
    S1_UNROLL
    for (int k = 0; k < kGroupVectors; ++k) g.u[k] = _mm512_xor_si512(g.u[k], _mm512_set1_epi8(char(0x80)));
  } else {
    using Block = BlockOf<T>;
    __m512i lo, hi;
    transpose_nibble_qwords<Known>(row + offsetof(Block, qs), sizeof(Block), n, lo, hi);
    const __m512i nibble = _mm512_set1_epi8(0x0f);
    g.u[0] = _mm512_and_si512(lo, nibble);
    g.u[1] = _mm512_and_si512(hi, nibble);
    g.u[2] = _mm512_and_si512(_mm512_srli_epi64(lo, 4), nibble);
    g.u[3] = _mm512_and_si512(_mm512_srli_epi64(hi, 4), nibble);
    if constexpr (T == DType::Q5_0) {
      // Vector k's fifth bits are byte k of each block's qh: a 4 x 4 byte
      // transpose per 16-byte lane and one dword permute put them in qword k.
      // Its scales and fifth bits with one pick: words 0-15 and 16-31.
      const __m512i fields = pick_words<sizeof(block_q5_0), Field{offsetof(block_q5_0, d), 2},
                                        Field{offsetof(block_q5_0, qh), 4}, Known>(row, n);
      g.d = _mm512_cvtph_ps(_mm512_castsi512_si256(fields));
      const __m256i qh = _mm512_extracti64x4_epi64(fields, 1);
      const __m256i by_byte = _mm256_permutevar8x32_epi32(
          _mm256_shuffle_epi8(qh, _mm256_broadcastsi128_si256(_mm_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15))),
          _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
      alignas(32) uint64_t bits[kGroupVectors];
      _mm256_store_si256((__m256i*)bits, by_byte);
      S1_UNROLL
      for (int k = 0; k < kGroupVectors; ++k)
        g.u[k] = _mm512_mask_add_epi8(g.u[k], __mmask64(bits[k]), g.u[k], _mm512_set1_epi8(16));
    }
    if constexpr (T == DType::MXFP4) {
      // The doubled E2M1 value of each code plus 12 (0..24), in every 16-byte lane for vpshufb.
      const __m512i table =
          _mm512_broadcast_i32x4(_mm_setr_epi8(12, 13, 14, 15, 16, 18, 20, 24, 12, 11, 10, 9, 8, 6, 4, 0));
      S1_UNROLL
      for (int k = 0; k < kGroupVectors; ++k) g.u[k] = _mm512_shuffle_epi8(table, g.u[k]);
    }
  }
  if constexpr (T == DType::MXFP4) {
    g.d = pair_lanes(
        _mm256_scalef_ps(_mm256_set1_ps(1.0f), group_exponents(reinterpret_cast<const block_mxfp4*>(row), n)));
  } else if constexpr (T == DType::Q4_0) {
    constexpr Field scale{offsetof(block_q4_0, d), 2};
    g.d = _mm512_cvtph_ps(_mm512_castsi512_si256(pick_words<sizeof(block_q4_0), scale, scale, Known>(row, n)));
  } else if constexpr (T == DType::Q8_0) {  // scales inserted one by one: 4 pieces and 2 permutes were slower
    const auto* blk = reinterpret_cast<const block_q8_0*>(row);
    __m128i d = _mm_setzero_si128();
    S1_UNROLL
    for (int b = 0; b < kGroupBlocks; ++b)
      if (present<Known>(b, n)) d = insert_word(d, blk[b].d, b);
    g.d = pair_lanes(_mm256_cvtph_ps(d));
  }
  return g;
}

// Calls f(load_group<T, ...>(...), g) for every group of the row.
template <DType T, typename F>
inline void for_each_group(const uint8_t* row, int64_t n_blocks, F&& f) {
  for (int64_t g = 0; g < n_groups(n_blocks); ++g) {
    const uint8_t* p = row + g * kGroupBlocks * sizeof(BlockOf<T>);
    const int64_t n = n_blocks - g * kGroupBlocks;
    if (n >= kGroupBlocks)
      f(load_group<T, kGroupBlocks>(p, kGroupBlocks), g);
    else if (n == kGroupBlocks / 2)
      f(load_group<T, kGroupBlocks / 2>(p, int(n)), g);
    else
      f(load_group<T, 0>(p, int(n)), g);
  }
}

void block32_prepare(DType type, const float* x, int64_t cols, uint8_t* token, size_t group_stride) {
  const int64_t n_blocks = cols / QK;
  const __m512i offset = _mm512_set1_epi8(char(unsigned_offset(type)));
  for (int64_t g = 0; g < n_groups(n_blocks); ++g) {
    uint8_t* dst = token + g * group_stride;
    const int n = int(std::min<int64_t>(kGroupBlocks, n_blocks - g * kGroupBlocks));
    alignas(64) int8_t q[kGroupBlocks][QK];
    alignas(32) float scale[kGroupBlocks];
    for (int b = 0; b < kGroupBlocks; ++b) {
      if (b >= n) {
        scale[b] = 0.0f;
        _mm256_store_si256((__m256i*)q[b], _mm256_setzero_si256());
        continue;
      }
      const float* v = x + (g * kGroupBlocks + b) * QK;
      const __m512 lo = _mm512_loadu_ps(v), hi = _mm512_loadu_ps(v + 16);
      const float m = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(lo), _mm512_abs_ps(hi)));
      const __m512 inv = _mm512_set1_ps(m > 0 ? 127.0f / m : 0.0f);
      scale[b] = m / 127.0f;
      _mm_store_si128((__m128i*)q[b], _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(lo, inv))));
      _mm_store_si128((__m128i*)(q[b] + 16), _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(hi, inv))));
    }
    __m512i v[kGroupVectors];
    transpose_qwords<kGroupBlocks>(reinterpret_cast<const uint8_t*>(q), QK, kGroupBlocks, v);
    __m512i offset_sum = _mm512_setzero_si512();
    S1_UNROLL
    for (int k = 0; k < kGroupVectors; ++k) {
      offset_sum = _mm512_dpbusd_epi32(offset_sum, offset, v[k]);
      _mm512_store_si512(dst + kActValues + 64 * k, v[k]);
    }
    _mm512_store_ps(dst + kActScales, pair_lanes(_mm256_load_ps(scale)));
    _mm512_store_si512(dst + kActCorrections, _mm512_sub_epi32(_mm512_setzero_si512(), offset_sum));
  }
}

// Token t's group data, counted from a pointer to some group of the first token.
inline const uint8_t* token_group(const uint8_t* group, int t) { return group + t * kActGroupBytes; }

template <DType T>
void unpack_row(const uint8_t* row, int64_t n_blocks, uint8_t* dst) {
  for_each_group<T>(row, n_blocks, [&](const WeightGroup& wg, int64_t g) {
    uint8_t* out = dst + g * kWeightGroupBytes;
    S1_UNROLL
    for (int k = 0; k < kGroupVectors; ++k) _mm512_store_si512(out + 64 * k, wg.u[k]);
    _mm512_store_ps(out + kWeightScales, wg.d);
  });
}

template <int R, int T>
void block32_tile(const uint8_t* w, size_t w_stride, const uint8_t* a, size_t group_stride, int64_t groups,
                  float* out, int64_t out_stride) {
  __m512 acc[R][T];
  S1_UNROLL
  for (int r = 0; r < R; ++r)
    S1_UNROLL
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  for (int64_t g = 0; g < groups; ++g) {
    const uint8_t* group = a + g * group_stride;
    const uint8_t* wg = w + g * kWeightGroupBytes;
    __m512i sum[R][T];
    S1_UNROLL
    for (int t = 0; t < T; ++t) {
      const __m512i correction = _mm512_load_si512(token_group(group, t) + kActCorrections);
      S1_UNROLL
      for (int r = 0; r < R; ++r) sum[r][t] = correction;
    }
    S1_UNROLL
    for (int k = 0; k < kGroupVectors; ++k) {
      __m512i u[R];
      S1_UNROLL
      for (int r = 0; r < R; ++r) u[r] = _mm512_load_si512(wg + r * w_stride + 64 * k);
      S1_UNROLL
      for (int t = 0; t < T; ++t) {
        const __m512i av = _mm512_load_si512(token_group(group, t) + kActValues + 64 * k);
        S1_UNROLL
        for (int r = 0; r < R; ++r) sum[r][t] = _mm512_dpbusd_epi32(sum[r][t], u[r], av);
      }
    }
    S1_UNROLL
    for (int t = 0; t < T; ++t) {
      const __m512 ad = _mm512_load_ps(token_group(group, t) + kActScales);
      S1_UNROLL
      for (int r = 0; r < R; ++r)
        acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum[r][t]),
                                    _mm512_mul_ps(_mm512_load_ps(wg + r * w_stride + kWeightScales), ad), acc[r][t]);
    }
  }
  S1_UNROLL
  for (int t = 0; t < T; ++t)
    S1_UNROLL
    for (int r = 0; r < R; ++r) out[t * out_stride + r] = _mm512_reduce_add_ps(acc[r][t]);
}

template <int R>
void block32_tiles(const uint8_t* w, size_t w_stride, const uint8_t* a, size_t group_stride, int64_t n_tokens,
                   int64_t groups, float* out, int64_t out_stride) {
  int64_t t = 0;
  for (; t + kTokens <= n_tokens; t += kTokens)
    block32_tile<R, kTokens>(w, w_stride, a + t * kActGroupBytes, group_stride, groups, out + t * out_stride,
                             out_stride);
  with_count<kTokens - 1>(int(n_tokens - t), [&](auto n) {
    block32_tile<R, n()>(w, w_stride, a + t * kActGroupBytes, group_stride, groups, out + t * out_stride, out_stride);
  });
}

// Decode: one weight row against up to kDecodeTokens tokens, unpacked in
// registers (no scratch round trip; the weight stream is the bound here).
template <DType T, int NT>
void block32_decode_row(const uint8_t* row, int64_t n_blocks, size_t ahead, const uint8_t* a, size_t group_stride,
                        float* out, int64_t out_stride) {
  constexpr size_t group_bytes = kGroupBlocks * sizeof(BlockOf<T>);
  __m512 acc[NT];
  S1_UNROLL
  for (int t = 0; t < NT; ++t) acc[t] = _mm512_setzero_ps();
  for_each_group<T>(row, n_blocks, [&](const WeightGroup& wg, int64_t g) {
    prefetch_span<group_bytes>(row + g * group_bytes + ahead);
    const uint8_t* group = a + g * group_stride;
    S1_UNROLL
    for (int t = 0; t < NT; ++t) {
      __m512i sum = _mm512_load_si512(token_group(group, t) + kActCorrections);
      S1_UNROLL
      for (int k = 0; k < kGroupVectors; ++k)
        sum = _mm512_dpbusd_epi32(sum, wg.u[k], _mm512_load_si512(token_group(group, t) + kActValues + 64 * k));
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum),
                               _mm512_mul_ps(wg.d, _mm512_load_ps(token_group(group, t) + kActScales)), acc[t]);
    }
  });
  S1_UNROLL
  for (int t = 0; t < NT; ++t) out[t * out_stride] = _mm512_reduce_add_ps(acc[t]);
}

template <DType T>
void block32_rows_of(const WeightMatrix& w, const Activations& act, float* out, int64_t row_begin,
                     int64_t row_end) {
  const int64_t n_blocks = w.cols / QK;
  const int64_t groups = n_groups(n_blocks);
  if (act.n_tokens <= kDecodeTokens) {
    const size_t ahead = prefetch_distance(w);
    return with_count<kDecodeTokens>(int(act.n_tokens), [&](auto n_tokens) {
      for (int64_t r = row_begin; r < row_end; ++r)
        block32_decode_row<T, n_tokens()>(w.data + r * w.row_stride, n_blocks, ahead, act.data, act.group_stride,
                                          out + r, w.rows);
    });
  }
  const size_t unpacked_stride = size_t(groups) * kWeightGroupBytes;
  uint8_t* unpacked = scratch(1, kRows * unpacked_stride);
  for (int64_t tb = 0; tb < act.n_tokens; tb += kTokenBlock) {
    const int64_t n_block = std::min(kTokenBlock, act.n_tokens - tb);
    const uint8_t* a = act.data + tb * kActGroupBytes;
    for (int64_t r0 = row_begin; r0 < row_end; r0 += kRows) {
      const int n_rows = int(std::min<int64_t>(kRows, row_end - r0));
      for (int r = 0; r < n_rows; ++r)
        unpack_row<T>(w.data + (r0 + r) * w.row_stride, n_blocks, unpacked + r * unpacked_stride);
      float* o = out + tb * w.rows + r0;
      if (n_rows == kRows) {
        block32_tiles<kRows>(unpacked, unpacked_stride, a, act.group_stride, n_block, groups, o, w.rows);
      } else {
        for (int r = 0; r < n_rows; ++r)
          block32_tiles<1>(unpacked + r * unpacked_stride, unpacked_stride, a, act.group_stride, n_block, groups,
                           o + r, w.rows);
      }
    }
  }
}

void block32_rows(const WeightMatrix& w, const Activations& act, float* out, int64_t row_begin, int64_t row_end) {
  switch (w.type) {
    case DType::Q4_0: return block32_rows_of<DType::Q4_0>(w, act, out, row_begin, row_end);
    case DType::Q5_0: return block32_rows_of<DType::Q5_0>(w, act, out, row_begin, row_end);
    case DType::MXFP4: return block32_rows_of<DType::MXFP4>(w, act, out, row_begin, row_end);
    default: return block32_rows_of<DType::Q8_0>(w, act, out, row_begin, row_end);
  }
}

}  // namespace

extern const matmul_kernels::Family kBlock32Family = {kActGroupBytes, block32_prepare, block32_rows};

}  // namespace s1::avx512
