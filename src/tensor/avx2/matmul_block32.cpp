// Q4_0 / Q5_0 / Q8_0 / MXFP4 weights: 32-element blocks with an f16 scale (an
// E8M0 power of two for MXFP4). Activations are quantized to int8 with one
// scale per block (as llama.cpp's q8_0); the products run on vpmaddubsw
// (unsigned x signed bytes, pairs summed to int16 with saturation) then
// vpmaddwd by ones (to int32).
//
// The 4- and 5-bit values go in unsigned, as stored (q4: 0..15, q5: 0..31,
// w = u - offset): u * a pairs stay far from saturating. MXFP4's codes are
// Q4_0's nibbles mapped by one vpshufb to the doubled E2M1 values plus 12
// (0..24, offset 12), so they go the same way. The offset's share,
// -offset * d_w * (sum of the block's activations), comes from the
// activations' per-block sums, once per group of 8 blocks and token. Q8_0's
// signed values would saturate as u + 128, so they take the sign trick (|w|
// times a with w's sign, 128 * 127 * 2 < 32768), one vpsignb more per block
// and token.
//
// Decode keeps each block in one vector, in element order, as stored: per
// block and token vpmaddubsw, vpmaddwd, vcvtdq2ps and one FMA with the block
// scale times the token's block scale (8 per group, multiplied as one vector,
// stored once per group and broadcast per block: a load, off the vector ports).
//
// Prefill lays a group's 8 blocks out transposed (vector k holds values
// 4k..4k+3 of every block, so int32 lane i is block i's), the weights as they
// are unpacked and the activations in prepare. Then the products of
// the 8 vectors add up before the scales apply: in int16 straight from
// vpmaddubsw while the sums cannot overflow (Q4_0: 8 vectors, 8 * 2 * 15 * 127
// < 32768; Q5_0: 4; MXFP4: 4, 4 * 2 * 24 * 127 = 24384, where 8 would not
// fit), in int32 past vpmaddwd (Q8_0: 1), and one vcvtdq2ps,
// multiply and FMA per group apply the 8 block scales and the token's 8 (lane
// i is block i on both sides, so per-block activation scales cost nothing).
// Per block and token: Q4_0 one vpmaddubsw and one vpaddw, Q8_0 vpsignb,
// vpmaddubsw, vpmaddwd and vpaddd, where decode spends 4 and 5 instructions
// (measured at 512 tokens: Q4_0 1.7x, Q5_0 1.5x, Q8_0 1.3x the per-block form).
#include <cstring>

#include "tensor/avx2/kernels.h"
#include "tensor/avx2/simd.h"
#include "tensor/blocks.h"
#include "tensor/matmul_kernels.h"

namespace s1::avx2 {
namespace {

using namespace matmul_kernels;

// Prefill tiles of 2 rows by Layout::tile_tokens tokens: 12 integer sums with
// the weight vector and the product fill 14 of the 16 ymm registers (the
// activations are read from L1 as operands; Q8_0's sign trick takes two more,
// so 10 sums); the float accumulators, touched once per group, live in L1.
constexpr int kRows = 2;
constexpr int kGroupBlocks = kGroupCols / QK;  // blocks per activation scale (8)

// A token's prepared group of 256 activations, twice: in element order for
// decode, and transposed for prefill (q_t[k] bytes 4i..4i+3 are block i's
// values 4k..4k+3; a last group of up to 4 blocks packed as the weights' are).
// prepare cannot tell which kernels will read them, and transposing once here
// costs less than in each of the calls of every thread.
struct ActGroup {
  float d[kGroupBlocks];              // the scale of each block's q; 0 past the row end
  float d_t[kGroupBlocks];            // the same in prefill's lanes (a half group's 4-7 repeat 0-3)
  float offset_sums[kGroupBlocks];    // -offset * sum of each block's q; 0 past the row end
  int32_t offset_ints[kGroupBlocks];  // the same, for prefill's integer sums
  int8_t q[kGroupBlocks][QK];    // 0 past the row end
  int8_t q_t[kGroupBlocks][QK];  // transposed
};
static_assert(sizeof(ActGroup) == 640 && sizeof(ActGroup) % 64 == 0);
// What prefill reads of a token's group: all but q.
constexpr size_t kPrefillActBytes = sizeof(ActGroup) - sizeof(ActGroup::q);

// A weight row's group unpacked for prefill, transposed likewise: the bytes
// vpmaddubsw takes unsigned (u for Q4_0/Q5_0, |w| for Q8_0), Q8_0's signed
// values, the block scales.
struct WeightGroup {
  uint8_t u[kGroupBlocks][QK];  // 0 past the row end
  float d[kGroupBlocks];        // 0 past the row end
};
struct WeightGroupQ8 {
  uint8_t u[kGroupBlocks][QK];
  int8_t w[kGroupBlocks][QK];
  float d[kGroupBlocks];
};

template <DType T>
struct Layout;
template <>
struct Layout<DType::Q8_0> {
  using Block = block_q8_0;
  using Group = WeightGroupQ8;
  static constexpr int offset = 0;
  static constexpr int int16_run = 1;  // vectors whose int16 products add up before vpmaddwd
  static constexpr int tile_tokens = 5;
};
template <>
struct Layout<DType::Q4_0> {
  using Block = block_q4_0;
  using Group = WeightGroup;
  static constexpr int offset = 8;
  static constexpr int int16_run = 8;
  static constexpr int tile_tokens = 6;
};
template <>
struct Layout<DType::Q5_0> {
  using Block = block_q5_0;
  using Group = WeightGroup;
  static constexpr int offset = 16;
  static constexpr int int16_run = 4;
  static constexpr int tile_tokens = 6;
};
template <>
struct Layout<DType::MXFP4> {
  using Block = block_mxfp4;
  using Group = WeightGroup;
  static constexpr int offset = 12;
  static constexpr int int16_run = 4;
  static constexpr int tile_tokens = 6;
};

inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

// A row's last group of up to 4 blocks (896 = 3.5 groups, Qwen2.5-0.5B's
// width) takes 4 vectors, not 8 mostly empty ones: vector k holds values
// 4k..4k+3 of the blocks in lanes 0-3 and values 4k+16.. in lanes 4-7.
inline bool half_group(int n) { return n <= kGroupBlocks / 2; }

// The transposed vectors of blocks v[0..n) (v[n..8) zero): 8, or 4 for a half group.
inline void transpose_group(__m256i* v, int n) {
  transpose8(v);
  if (half_group(n))
    for (int k = 0; k < 4; ++k) v[k] = _mm256_permute2x128_si256(v[k], v[k + 4], 0x20);
}

// Lanes 0-3 repeated in 4-7 for a half group (its block scales).
inline __m256 half_group_lanes(__m256 v, int n) {
  return half_group(n) ? _mm256_permute2f128_ps(v, v, 0x00) : v;
}

void block32_prepare(DType type, const float* x, int64_t cols, uint8_t* token, size_t group_stride) {
  const int64_t n_blocks = cols / QK;
  const float offset = float(type == DType::Q4_0    ? Layout<DType::Q4_0>::offset
                             : type == DType::Q5_0  ? Layout<DType::Q5_0>::offset
                             : type == DType::MXFP4 ? Layout<DType::MXFP4>::offset
                                                    : 0);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  for (int64_t b0 = 0; b0 < n_blocks; b0 += kGroupBlocks) {
    auto* g = reinterpret_cast<ActGroup*>(token + b0 / kGroupBlocks * group_stride);
    const int n = int(min64(kGroupBlocks, n_blocks - b0));
    const float* v = x + b0 * QK;
    __m256i q[kGroupBlocks];
    for (int b = 0; b < kGroupBlocks; ++b) {
      int low = 0, high = 0;
      g->d[b] = 0.0f;
      q[b] = _mm256_setzero_si256();
      if (b < n) {
        __m256 amax = _mm256_setzero_ps();
        for (int i = 0; i < QK; i += 8)
          amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, _mm256_loadu_ps(v + b * QK + i)));
        const float m = hmax(amax);
        g->d[b] = m / 127.0f;
        q[b] = quantize32(v + b * QK, _mm256_set1_ps(m > 0 ? 127.0f / m : 0.0f), &low, &high);
      }
      _mm256_store_si256((__m256i*)g->q[b], q[b]);
      g->offset_sums[b] = -offset * float(low + high);
      g->offset_ints[b] = -int(offset) * (low + high);
    }
    _mm256_store_ps(g->d_t, half_group_lanes(_mm256_load_ps(g->d), n));
    transpose_group(q, n);
    for (int k = 0; k < kGroupBlocks; ++k) _mm256_store_si256((__m256i*)g->q_t[k], q[k]);
  }
}

template <DType T>
inline const typename Layout<T>::Block& block_at(const uint8_t* row, int64_t b) {
  return reinterpret_cast<const typename Layout<T>::Block*>(row)[b];
}

// Block b's 32 values as bytes in element order: the stored unsigned values
// (Q4_0, Q5_0), MXFP4's looked up (value + 12), or Q8_0's signed ones.
template <DType T>
inline __m256i block_values(const uint8_t* row, int64_t b) {
  const auto& blk = block_at<T>(row, b);
  if constexpr (T == DType::Q8_0) {
    return _mm256_loadu_si256((const __m256i*)blk.qs);
  } else {
    // Low nibbles are elements 0-15, high nibbles 16-31.
    const __m128i packed = _mm_loadu_si128((const __m128i*)blk.qs);
    __m256i u = _mm256_and_si256(_mm256_inserti128_si256(_mm256_castsi128_si256(packed), _mm_srli_epi16(packed, 4), 1),
                                 _mm256_set1_epi8(0x0f));
    if constexpr (T == DType::Q5_0) {
      // Fifth bits, element j at bit j: byte j takes the qh byte holding its
      // bit (j / 8), keeps bit j % 8, and becomes 16 where it is set.
      uint32_t h;
      std::memcpy(&h, blk.qh, 4);
      const __m256i spread = _mm256_shuffle_epi8(
          _mm256_set1_epi32(int(h)),
          _mm256_setr_epi64x(0, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303));
      const __m256i bit = _mm256_set1_epi64x(int64_t(0x8040201008040201));
      const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
      u = _mm256_or_si256(u, _mm256_and_si256(set, _mm256_set1_epi8(16)));
    }
    if constexpr (T == DType::MXFP4) {
      const __m256i table = _mm256_broadcastsi128_si256(
          _mm_setr_epi8(12, 13, 14, 15, 16, 18, 20, 24, 12, 11, 10, 9, 8, 6, 4, 0));  // kMxfp4Values + 12
      u = _mm256_shuffle_epi8(table, u);
    }
    return u;
  }
}

// Block scales b0 .. b0 + 7 as floats, 0 from the n-th on. Built from
// registers (a vector load of scalar stores would stall), inline: decode
// takes it once per group of every row.
template <DType T>
[[gnu::always_inline]] inline __m256 group_scales(const uint8_t* row, int64_t b0, int n) {
  const auto* blk = &block_at<T>(row, b0);
  if constexpr (T == DType::MXFP4) {
    // 2^(e - 128) as float bits: (e - 1) << 23, or a subnormal 0x00200000 << e for e < 2.
    __m256i ev;
    if (n == kGroupBlocks) {
      // The exponent bytes are 17 apart: blocks 2k and 2k + 1 at bytes 0 and
      // 17 of a load at 34k, in different 16-byte lanes. One vpshufb per load
      // moves them to int32 lane k of their half, the halves are ORed, and
      // one vpermd puts [e0 e2 e4 e6 | e1 e3 e5 e7] in order: 9 vector
      // instructions, where 8 scalar loads and inserts took more.
      const auto* p = reinterpret_cast<const uint8_t*>(blk);
      auto pick = [&](int k) {
        const __m256i ctrl = _mm256_setr_epi32(k == 0 ? 0xffffff00 : -1, k == 1 ? 0xffffff00 : -1,
                                               k == 2 ? 0xffffff00 : -1, k == 3 ? 0xffffff00 : -1,
                                               k == 0 ? 0xffffff01 : -1, k == 1 ? 0xffffff01 : -1,
                                               k == 2 ? 0xffffff01 : -1, k == 3 ? 0xffffff01 : -1);
        return _mm256_shuffle_epi8(_mm256_loadu_si256((const __m256i*)(p + 2 * k * sizeof(block_mxfp4))), ctrl);
      };
      const __m256i halves = _mm256_or_si256(_mm256_or_si256(pick(0), pick(1)), _mm256_or_si256(pick(2), pick(3)));
      ev = _mm256_permutevar8x32_epi32(halves, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    } else {
      auto e = [&](int i) { return i < n ? int(blk[i].e) : 0; };
      ev = _mm256_setr_epi32(e(0), e(1), e(2), e(3), e(4), e(5), e(6), e(7));
    }
    const __m256i normal = _mm256_slli_epi32(_mm256_sub_epi32(ev, _mm256_set1_epi32(1)), 23);
    const __m256i subnormal = _mm256_sllv_epi32(_mm256_set1_epi32(0x00200000), ev);
    __m256i bits = _mm256_blendv_epi8(subnormal, normal, _mm256_cmpgt_epi32(ev, _mm256_set1_epi32(1)));
    if (n < kGroupBlocks)
      bits = _mm256_and_si256(bits, _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)));
    return _mm256_castsi256_ps(bits);
  } else {
    if (n == kGroupBlocks)
      return _mm256_cvtph_ps(_mm_setr_epi16(short(blk[0].d), short(blk[1].d), short(blk[2].d), short(blk[3].d),
                                            short(blk[4].d), short(blk[5].d), short(blk[6].d), short(blk[7].d)));
    auto d = [&](int i) { return i < n ? short(blk[i].d) : short(0); };
    return _mm256_cvtph_ps(_mm_setr_epi16(d(0), d(1), d(2), d(3), d(4), d(5), d(6), d(7)));
  }
}

// The int32 lanes of a block's dot product with activations aq; w32 is what
// block_values gave, u what vpmaddubsw takes unsigned (u = w32 but for Q8_0's
// |w|).
template <DType T>
inline __m256i block_dot(__m256i u, __m256i w32, __m256i aq) {
  const __m256i pairs = T == DType::Q8_0 ? _mm256_maddubs_epi16(u, _mm256_sign_epi8(aq, w32))
                                         : _mm256_maddubs_epi16(u, aq);
  return _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
}

inline const ActGroup& act_at(const uint8_t* group, int t) {
  return reinterpret_cast<const ActGroup*>(group)[t];
}

// Decode: one weight row against up to kDecodeTokens tokens, unpacked in
// registers (no scratch round trip; the weight stream is the bound here). It
// prefetches ahead even for one token: at AVX2's pace the hardware prefetcher
// alone leaves a single token waiting on memory (measured: +20% decode).
template <DType T, int NT>
void block32_decode_row(const uint8_t* row, int64_t n_blocks, size_t ahead, const uint8_t* a, size_t group_stride,
                        float* out, int64_t out_stride) {
  constexpr size_t block_bytes = sizeof(typename Layout<T>::Block);
  __m256 acc[NT];
  S1_UNROLL
  for (int t = 0; t < NT; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t b0 = 0; b0 < n_blocks; b0 += kGroupBlocks) {
    const uint8_t* group = a + b0 / kGroupBlocks * group_stride;
    const int n = int(min64(kGroupBlocks, n_blocks - b0));
    const __m256 dw = group_scales<T>(row, b0, n);
    alignas(32) float scale[NT][kGroupBlocks];  // weight block scales times the token's
    S1_UNROLL
    for (int t = 0; t < NT; ++t) {
      const __m256 s = _mm256_mul_ps(dw, _mm256_load_ps(act_at(group, t).d));
      _mm256_store_ps(scale[t], s);
      if constexpr (Layout<T>::offset != 0) acc[t] = _mm256_fmadd_ps(s, _mm256_load_ps(act_at(group, t).offset_sums), acc[t]);
    }
    S1_UNROLL
    for (int i = 0; i < kGroupBlocks; ++i) {
      if (i == n) break;
      prefetch_span<block_bytes>(row + (b0 + i) * block_bytes + ahead);
      const __m256i w32 = block_values<T>(row, b0 + i);
      const __m256i u = T == DType::Q8_0 ? _mm256_sign_epi8(w32, w32) : w32;
      S1_UNROLL
      for (int t = 0; t < NT; ++t) {
        const __m256i dot = block_dot<T>(u, w32, _mm256_load_si256((const __m256i*)act_at(group, t).q[i]));
        acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_broadcast_ss(&scale[t][i]), acc[t]);
      }
    }
  }
  S1_UNROLL
  for (int t = 0; t < NT; ++t) out[t * out_stride] = hsum(acc[t]);
}

template <DType T>
void unpack_row(const uint8_t* row, int64_t n_blocks, typename Layout<T>::Group* dst) {
  for (int64_t b0 = 0; b0 < n_blocks; b0 += kGroupBlocks, ++dst) {
    const int n = int(min64(kGroupBlocks, n_blocks - b0));
    __m256i w[kGroupBlocks];
    for (int i = 0; i < kGroupBlocks; ++i) w[i] = i < n ? block_values<T>(row, b0 + i) : _mm256_setzero_si256();
    transpose_group(w, n);
    for (int k = 0; k < kGroupBlocks; ++k) {
      if constexpr (T == DType::Q8_0) {
        _mm256_store_si256((__m256i*)dst->u[k], _mm256_sign_epi8(w[k], w[k]));
        _mm256_store_si256((__m256i*)dst->w[k], w[k]);
      } else {
        _mm256_store_si256((__m256i*)dst->u[k], w[k]);
      }
    }
    _mm256_store_ps(dst->d, half_group_lanes(group_scales<T>(row, b0, n), n));
  }
}

// acc[r][t] += the products of group g (V transposed vectors) of the rows and
// tokens, scaled.
template <DType T, int R, int NT, int V>
[[gnu::always_inline]] inline void group_products(const typename Layout<T>::Group* const* w, int64_t g,
                                                  const ActGroup* ag, __m256 (&acc)[R][NT]) {
  constexpr int run = Layout<T>::int16_run < V ? Layout<T>::int16_run : V;
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i dot[R][NT];  // int32 lane i: block i (of a half group: block i % 4)
  S1_UNROLL
  for (int k0 = 0; k0 < V; k0 += run) {
    __m256i sum[R][NT];  // int16 products of vectors k0 .. k0 + run - 1 (Q4_0, Q5_0)
    S1_UNROLL
    for (int k = k0; k < k0 + run; ++k) {
      S1_UNROLL
      for (int r = 0; r < R; ++r) {
        const __m256i u = _mm256_load_si256((const __m256i*)w[r][g].u[k]);
        S1_UNROLL
        for (int t = 0; t < NT; ++t) {
          const __m256i aq = _mm256_load_si256((const __m256i*)ag[t].q_t[k]);
          if constexpr (T == DType::Q8_0) {
            const __m256i pairs =
                _mm256_maddubs_epi16(u, _mm256_sign_epi8(aq, _mm256_load_si256((const __m256i*)w[r][g].w[k])));
            const __m256i s32 = _mm256_madd_epi16(pairs, ones);
            dot[r][t] = k == 0 ? s32 : pinned(_mm256_add_epi32(dot[r][t], s32));
          } else {
            const __m256i pairs = _mm256_maddubs_epi16(u, aq);
            sum[r][t] = k == k0 ? pairs : pinned(_mm256_add_epi16(sum[r][t], pairs));
          }
        }
      }
    }
    if constexpr (T != DType::Q8_0) {
      S1_UNROLL
      for (int r = 0; r < R; ++r)
        S1_UNROLL
        for (int t = 0; t < NT; ++t) {
          const __m256i s32 = _mm256_madd_epi16(sum[r][t], ones);
          dot[r][t] = k0 == 0 ? s32 : pinned(_mm256_add_epi32(dot[r][t], s32));
        }
    }
  }
  S1_UNROLL
  for (int r = 0; r < R; ++r) {
    const __m256 dw = _mm256_load_ps(w[r][g].d);
    S1_UNROLL
    for (int t = 0; t < NT; ++t) {
      __m256i d = dot[r][t];
      if constexpr (Layout<T>::offset != 0)
        d = _mm256_add_epi32(d, _mm256_load_si256((const __m256i*)ag[t].offset_ints));
      // The scales' product first, as decode: the int32 sum times a large
      // MXFP4 scale (up to 2^127) alone could overflow.
      acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(d), _mm256_mul_ps(dw, _mm256_load_ps(ag[t].d_t)), acc[r][t]);
    }
  }
}

template <DType T, int R, int NT>
void block32_tile(const typename Layout<T>::Group* const* w, const uint8_t* a, size_t group_stride,
                  int64_t n_blocks, float* out, int64_t out_stride) {
  __m256 acc[R][NT];
  S1_UNROLL
  for (int r = 0; r < R; ++r)
    S1_UNROLL
    for (int t = 0; t < NT; ++t) acc[r][t] = _mm256_setzero_ps();
  const int64_t n_groups = (n_blocks + kGroupBlocks - 1) / kGroupBlocks;
  const bool half = half_group(int(n_blocks - (n_groups - 1) * kGroupBlocks));
  const int64_t n_whole = half ? n_groups - 1 : n_groups;
  for (int64_t g = 0; g < n_whole; ++g) group_products<T, R, NT, kGroupBlocks>(w, g, &act_at(a + g * group_stride, 0), acc);
  if (half) group_products<T, R, NT, kGroupBlocks / 2>(w, n_whole, &act_at(a + n_whole * group_stride, 0), acc);
  S1_UNROLL
  for (int t = 0; t < NT; ++t)
    S1_UNROLL
    for (int r = 0; r < R; ++r) out[t * out_stride + r] = hsum(acc[r][t]);
}

template <DType T, int R>
void block32_tiles(const typename Layout<T>::Group* const* w, const uint8_t* a, size_t group_stride,
                   int64_t n_tokens, int64_t n_blocks, float* out, int64_t out_stride) {
  constexpr int tile = Layout<T>::tile_tokens;
  int64_t t = 0;
  for (; t + tile <= n_tokens; t += tile)
    block32_tile<T, R, tile>(w, a + t * sizeof(ActGroup), group_stride, n_blocks, out + t * out_stride, out_stride);
  with_count<tile - 1>(int(n_tokens - t), [&](auto n) {
    block32_tile<T, R, n()>(w, a + t * sizeof(ActGroup), group_stride, n_blocks, out + t * out_stride, out_stride);
  });
}

template <DType T>
void block32_rows_of(const WeightMatrix& w, const Activations& act, float* out, int64_t row_begin,
                     int64_t row_end) {
  using Group = typename Layout<T>::Group;
  const int64_t n_blocks = w.cols / QK;
  if (act.n_tokens <= kDecodeTokens) {
    const size_t ahead = prefetch_distance(w);
    auto decode = [&](auto n_tokens) {
      for (int64_t r = row_begin; r < row_end; ++r)
        block32_decode_row<T, n_tokens()>(w.data + r * w.row_stride, n_blocks, ahead, act.data, act.group_stride,
                                          out + r, w.rows);
    };
    return with_count<kDecodeTokens>(int(act.n_tokens), decode);
  }
  const int64_t n_groups = (n_blocks + kGroupBlocks - 1) / kGroupBlocks;
  const int64_t block = prefill_block_tokens(act.n_tokens, n_groups * kPrefillActBytes, Layout<T>::tile_tokens);
  auto* unpacked = reinterpret_cast<Group*>(scratch(1, kRows * n_groups * sizeof(Group)));
  for (int64_t tb = 0; tb < act.n_tokens; tb += block) {
    const int64_t n_block = min64(block, act.n_tokens - tb);
    const uint8_t* a = act.data + tb * sizeof(ActGroup);
    for (int64_t r0 = row_begin; r0 < row_end; r0 += kRows) {
      const int n_rows = int(min64(kRows, row_end - r0));
      const Group* rows[kRows];
      for (int r = 0; r < n_rows; ++r) {
        unpack_row<T>(w.data + (r0 + r) * w.row_stride, n_blocks, unpacked + r * n_groups);
        rows[r] = unpacked + r * n_groups;
      }
      const int64_t next = r0 + kRows;
      prefetch_rows(w.data + next * w.row_stride, int(min64(kRows, row_end - next)), w.row_stride,
                    size_t(n_blocks) * sizeof(typename Layout<T>::Block));
      float* o = out + tb * w.rows + r0;
      if (n_rows == kRows) {
        block32_tiles<T, kRows>(rows, a, act.group_stride, n_block, n_blocks, o, w.rows);
      } else {
        for (int r = 0; r < n_rows; ++r)
          block32_tiles<T, 1>(rows + r, a, act.group_stride, n_block, n_blocks, o + r, w.rows);
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

extern const matmul_kernels::Family kBlock32Family = {sizeof(ActGroup), block32_prepare, block32_rows};

}  // namespace s1::avx2
