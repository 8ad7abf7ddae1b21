// Q4_0 / Q5_0 / Q8_0 weights: 32-element blocks with an f16 scale. Activations
// are quantized to int8 with one scale per 256 elements (as llama.cpp's q8_K
// for the K-quants); the products run on vpmaddubsw (unsigned x signed bytes,
// pairs summed to int16 with saturation) then vpmaddwd by ones (to int32).
//
// The 4- and 5-bit values go in unsigned, as stored (q4: 0..15, q5: 0..31,
// w = u - offset): u * a pairs stay far from saturating. The offset's share,
// -offset * d_w * (sum of the block's activations), is one FMA per group of 8
// blocks and token: the activations carry -offset * (each block's sum) as 8
// float lanes, the weights their 8 block scales. Q8_0's signed values would
// saturate as u + 128, so they take the sign trick (|w| times a with w's sign,
// 128 * 127 * 2 < 32768), one vpsignb more per block and token.
//
// Block scales and the activation scale meet in one vector per group, row and
// token (8 weight scales times the token's scale), stored and broadcast per
// block (a load, off the vector ports): per block and token that leaves
// vpmaddubsw, vpmaddwd, vcvtdq2ps and one FMA into a single accumulator, and
// no per-group sums taking registers.
#include "tensor/simd_x86.h"

#include <cstring>

#include "tensor/avx2/kernels.h"
#include "tensor/blocks.h"
#include "tensor/matmul_kernels.h"

namespace s1::avx2 {
namespace {

using namespace matmul_kernels;

// A 2 x 4 prefill tile: 8 accumulators, a weight vector, the product and the
// broadcast scale (13 of the 16 ymm registers, the activations read from L1 as
// operands).
constexpr int kRows = 2;
constexpr int kTokens = 4;
constexpr int kGroupBlocks = kGroupCols / QK;  // blocks per activation scale (8)

// A token's prepared group of 256 activations.
struct ActGroup {
  float d;  // the scale of q
  float padding[7];
  float offset_sums[kGroupBlocks];  // -offset * sum of each block's q; 0 past the row end
  int8_t q[kGroupBlocks][QK];
};
static_assert(sizeof(ActGroup) == 320 && sizeof(ActGroup) % 64 == 0);

// A weight row's group unpacked for prefill: the bytes vpmaddubsw takes
// unsigned (u for Q4_0/Q5_0, |w| for Q8_0), Q8_0's signed values, the scales.
struct WeightGroup {
  uint8_t u[kGroupBlocks][QK];
  float d[kGroupBlocks];  // 0 past the row end
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
};
template <>
struct Layout<DType::Q4_0> {
  using Block = block_q4_0;
  using Group = WeightGroup;
  static constexpr int offset = 8;
};
template <>
struct Layout<DType::Q5_0> {
  using Block = block_q5_0;
  using Group = WeightGroup;
  static constexpr int offset = 16;
};

inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

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

void block32_prepare(DType type, const float* x, int64_t cols, uint8_t* token, size_t group_stride) {
  const int64_t n_blocks = cols / QK;
  const float offset = float(type == DType::Q4_0 ? Layout<DType::Q4_0>::offset
                             : type == DType::Q5_0 ? Layout<DType::Q5_0>::offset
                                                   : 0);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  for (int64_t b0 = 0; b0 < n_blocks; b0 += kGroupBlocks) {
    auto* g = reinterpret_cast<ActGroup*>(token + b0 / kGroupBlocks * group_stride);
    const int n = int(min64(kGroupBlocks, n_blocks - b0));
    const float* v = x + b0 * QK;
    __m256 amax = _mm256_setzero_ps();
    for (int i = 0; i < n * QK; i += 8) amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, _mm256_loadu_ps(v + i)));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    const float m = _mm_cvtss_f32(_mm_max_ss(m4, _mm_movehdup_ps(m4)));
    const __m256 inv = _mm256_set1_ps(m > 0 ? 127.0f / m : 0.0f);
    g->d = m / 127.0f;
    for (int b = 0; b < kGroupBlocks; ++b) {
      if (b >= n) {
        g->offset_sums[b] = 0.0f;
        continue;
      }
      const float* vb = v + b * QK;
      __m256i i[4];
      for (int k = 0; k < 4; ++k) i[k] = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(vb + 8 * k), inv));
      g->offset_sums[b] = -offset * float(hsum(_mm256_add_epi32(_mm256_add_epi32(i[0], i[1]), _mm256_add_epi32(i[2], i[3]))));
      // The packs interleave 128-bit lanes: dwords [i0 0-3, i1 0-3, i2 0-3, i3 0-3, i0 4-7, ...] back to order.
      const __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(i[0], i[1]), _mm256_packs_epi32(i[2], i[3]));
      _mm256_store_si256((__m256i*)g->q[b],
                         _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
    }
  }
}

template <DType T>
inline const typename Layout<T>::Block& block_at(const uint8_t* row, int64_t b) {
  return reinterpret_cast<const typename Layout<T>::Block*>(row)[b];
}

// Block b's 32 values as bytes in element order: the stored unsigned values
// (Q4_0, Q5_0), or Q8_0's signed ones.
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
    return u;
  }
}

// Block scales b0 .. b0 + 7 as floats, 0 from the n-th on. Built from
// registers: a vector load of scalar stores would stall.
template <DType T>
inline __m256 group_scales(const uint8_t* row, int64_t b0, int n) {
  auto d = [&](int i) { return i < n ? short(block_at<T>(row, b0 + i).d) : short(0); };
  return _mm256_cvtph_ps(_mm_setr_epi16(d(0), d(1), d(2), d(3), d(4), d(5), d(6), d(7)));
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
// registers (no scratch round trip; the weight stream is the bound here).
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
    alignas(32) float scale[NT][kGroupBlocks];  // weight block scales times the token's scale
    S1_UNROLL
    for (int t = 0; t < NT; ++t) {
      const __m256 s = _mm256_mul_ps(dw, _mm256_broadcast_ss(&act_at(group, t).d));
      _mm256_store_ps(scale[t], s);
      if constexpr (Layout<T>::offset != 0) acc[t] = _mm256_fmadd_ps(s, _mm256_load_ps(act_at(group, t).offset_sums), acc[t]);
    }
    S1_UNROLL
    for (int i = 0; i < kGroupBlocks; ++i) {
      if (i == n) break;
      if (NT > 1) prefetch_span<block_bytes>(row + (b0 + i) * block_bytes + ahead);
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
    for (int i = 0; i < n; ++i) {
      const __m256i w32 = block_values<T>(row, b0 + i);
      if constexpr (T == DType::Q8_0) {
        _mm256_store_si256((__m256i*)dst->u[i], _mm256_sign_epi8(w32, w32));
        _mm256_store_si256((__m256i*)dst->w[i], w32);
      } else {
        _mm256_store_si256((__m256i*)dst->u[i], w32);
      }
    }
    _mm256_store_ps(dst->d, group_scales<T>(row, b0, n));
  }
}

template <DType T, int R, int NT>
void block32_tile(const typename Layout<T>::Group* const* w, const uint8_t* a, size_t group_stride, int64_t n_blocks,
                  float* out, int64_t out_stride) {
  __m256 acc[R][NT];
  S1_UNROLL
  for (int r = 0; r < R; ++r)
    S1_UNROLL
    for (int t = 0; t < NT; ++t) acc[r][t] = _mm256_setzero_ps();
  for (int64_t g = 0; g * kGroupBlocks < n_blocks; ++g) {
    const uint8_t* group = a + g * group_stride;
    const int n = int(min64(kGroupBlocks, n_blocks - g * kGroupBlocks));
    alignas(32) float scale[R][NT][kGroupBlocks];
    S1_UNROLL
    for (int r = 0; r < R; ++r) {
      const __m256 dw = _mm256_load_ps(w[r][g].d);
      S1_UNROLL
      for (int t = 0; t < NT; ++t) {
        const __m256 s = _mm256_mul_ps(dw, _mm256_broadcast_ss(&act_at(group, t).d));
        _mm256_store_ps(scale[r][t], s);
        if constexpr (Layout<T>::offset != 0)
          acc[r][t] = _mm256_fmadd_ps(s, _mm256_load_ps(act_at(group, t).offset_sums), acc[r][t]);
      }
    }
    for (int i = 0; i < n; ++i) {
      S1_UNROLL
      for (int r = 0; r < R; ++r) {
        const __m256i u = _mm256_load_si256((const __m256i*)w[r][g].u[i]);
        S1_UNROLL
        for (int t = 0; t < NT; ++t) {
          const __m256i aq = _mm256_load_si256((const __m256i*)act_at(group, t).q[i]);
          __m256i dot;
          if constexpr (T == DType::Q8_0) {
            dot = block_dot<T>(u, _mm256_load_si256((const __m256i*)w[r][g].w[i]), aq);
          } else {
            dot = block_dot<T>(u, u, aq);
          }
          acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_broadcast_ss(&scale[r][t][i]), acc[r][t]);
        }
      }
    }
  }
  S1_UNROLL
  for (int t = 0; t < NT; ++t)
    S1_UNROLL
    for (int r = 0; r < R; ++r) out[t * out_stride + r] = hsum(acc[r][t]);
}

template <DType T, int R>
void block32_tiles(const typename Layout<T>::Group* const* w, const uint8_t* a, size_t group_stride,
                   int64_t n_tokens, int64_t n_blocks, float* out, int64_t out_stride) {
  int64_t t = 0;
  for (; t + kTokens <= n_tokens; t += kTokens)
    block32_tile<T, R, kTokens>(w, a + t * sizeof(ActGroup), group_stride, n_blocks, out + t * out_stride,
                                out_stride);
  with_count<kTokens - 1>(int(n_tokens - t), [&](auto n) {
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
  auto* unpacked = reinterpret_cast<Group*>(scratch(1, kRows * n_groups * sizeof(Group)));
  for (int64_t tb = 0; tb < act.n_tokens; tb += kTokenBlock) {
    const int64_t n_block = min64(kTokenBlock, act.n_tokens - tb);
    const uint8_t* a = act.data + tb * sizeof(ActGroup);
    for (int64_t r0 = row_begin; r0 < row_end; r0 += kRows) {
      const int n_rows = int(min64(kRows, row_end - r0));
      const Group* rows[kRows];
      for (int r = 0; r < n_rows; ++r) {
        unpack_row<T>(w.data + (r0 + r) * w.row_stride, n_blocks, unpacked + r * n_groups);
        rows[r] = unpacked + r * n_groups;
      }
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
    default: return block32_rows_of<DType::Q8_0>(w, act, out, row_begin, row_end);
  }
}

}  // namespace

extern const matmul_kernels::Family kBlock32Family = {sizeof(ActGroup), block32_prepare, block32_rows};

}  // namespace s1::avx2
