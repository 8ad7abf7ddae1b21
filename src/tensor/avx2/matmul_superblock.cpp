// Q4_K / Q5_K / Q6_K weights: 256-element super-blocks with small integer
// sub-block scales. Activations are quantized per 256 elements to int8 with
// sums of each 16 and 32 (llama.cpp's q8_K), so the integer sub-block scales
// fold into the integer dot product and the float scales apply once per
// super-block.
//
// A super-block is unpacked into eight 32-element chunks of unsigned bytes q
// (0..15, 0..31 or 0..63) and, per chunk, its sub-block scales as 16 int16
// lanes (one per byte pair). Per chunk and token: vpmaddubsw (q * a, pairs
// summed to int16, no saturation for these ranges), vpmaddwd (times the scale,
// summed to int32) and vpaddd into the super-block's integer sum: three
// instructions per 32 products, where AVX-512 VNNI fuses the last two. The
// per-sub-block constants (K-quant mins, Q6_K's -32 offset) come from the
// activations' sums: one FMA per super-block and token against the weights'
// scaled mins (sums of 32, scaled), or for Q6_K, whose constant shares the main
// scale, one vpmaddwd into the integer sum (sums of 16).
#include "tensor/simd_x86.h"

#include <cstring>

#include "tensor/avx2/kernels.h"
#include "tensor/blocks.h"
#include "tensor/matmul_kernels.h"

namespace s1::avx2 {
namespace {

using namespace matmul_kernels;

// A 2 x 4 prefill tile: 8 integer super-block sums in registers with a weight
// chunk, its scales and the product; the 8 float accumulators, touched once per
// super-block, live in L1.
constexpr int kRows = 2;
constexpr int kTokens = 4;
constexpr int kChunks = QK_K / 32;

// Prepared activation super-block.
struct ActSuper {
  int8_t q[QK_K];
  float scaled_sums[kChunks];  // d * sum of each 32 q, times the Q4_K/Q5_K mins
  int16_t sums[16];            // sum of each 16 q, times Q6_K's offset
  float d;
  float padding[15];
};
static_assert(sizeof(ActSuper) == 384 && sizeof(ActSuper) % 64 == 0);

// Unpacked weight super-block (prefill: unpacked once, used by many tokens).
struct WeightSuper {
  uint8_t q[kChunks][32];
  int16_t scale[kChunks][16];  // per byte pair of q
  union {
    float scaled_mins[kChunks];  // Q4_K/Q5_K: -dmin * min of each 32, times the activations' scaled sums
    int16_t offset_coef[16];     // Q6_K: -32 * scale of each 16, times the activations' sums
  };
  float d;  // times sum(scale * q * a)
  float padding[7];
};
static_assert(sizeof(WeightSuper) % 32 == 0);

static_assert(QK_K == kGroupCols);

template <DType T>
struct BlockOf;
template <>
struct BlockOf<DType::Q4_K> {
  using type = block_q4_K;
};
template <>
struct BlockOf<DType::Q5_K> {
  using type = block_q5_K;
};
template <>
struct BlockOf<DType::Q6_K> {
  using type = block_q6_K;
};

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

void super_prepare(DType, const float* x, int64_t cols, uint8_t* token, size_t group_stride) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  for (int64_t s = 0; s < cols / QK_K; ++s, x += QK_K) {
    auto* out = reinterpret_cast<ActSuper*>(token + s * group_stride);
    __m256 amax = _mm256_setzero_ps();
    for (int i = 0; i < QK_K; i += 8) amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    const float m = _mm_cvtss_f32(_mm_max_ss(m4, _mm_movehdup_ps(m4)));
    out->d = m / 127.0f;
    const __m256 inv = _mm256_set1_ps(m > 0 ? 127.0f / m : 0.0f);
    for (int c = 0; c < kChunks; ++c) {
      __m256i i[4];
      for (int k = 0; k < 4; ++k) i[k] = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 32 * c + 8 * k), inv));
      out->sums[2 * c] = int16_t(hsum(_mm256_add_epi32(i[0], i[1])));
      out->sums[2 * c + 1] = int16_t(hsum(_mm256_add_epi32(i[2], i[3])));
      out->scaled_sums[c] = float(out->sums[2 * c] + out->sums[2 * c + 1]) * out->d;
      // The packs interleave 128-bit lanes: dwords [i0 0-3, i1 0-3, i2 0-3, i3 0-3, i0 4-7, ...] back to order.
      const __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(i[0], i[1]), _mm256_packs_epi32(i[2], i[3]));
      _mm256_store_si256((__m256i*)(out->q + 32 * c),
                         _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
    }
  }
}

// The 8 six-bit scales then the 8 six-bit mins of a Q4_K/Q5_K super-block, as
// bytes (ggml's get_scale_min_k4 for all 8 at once).
inline __m128i k4_scales_mins(const uint8_t* packed) {
  constexpr uint32_t kmask1 = 0x3f3f3f3f, kmask2 = 0x0f0f0f0f, kmask3 = 0x03030303;
  uint32_t u[4];
  std::memcpy(u, packed, 12);
  u[3] = ((u[2] >> 4) & kmask2) | (((u[1] >> 6) & kmask3) << 4);
  const uint32_t mins_low = u[1] & kmask1;
  u[1] = (u[2] & kmask2) | (((u[0] >> 6) & kmask3) << 4);
  u[2] = mins_low;
  u[0] &= kmask1;
  // Built from registers: a 16-byte load of four 4-byte stores would stall.
  return _mm_set_epi64x(int64_t(u[2]) | int64_t(u[3]) << 32, int64_t(u[0]) | int64_t(u[1]) << 32);
}

// What a super-block's chunks share.
struct SuperHead {
  __m256i scales;       // Q4_K/Q5_K: 8 scales, 8 mins; Q6_K: 16 scales; bytes, in both 128-bit lanes
  __m256i offset_coef;  // Q6_K
  __m256 scaled_mins;   // Q4_K/Q5_K
  float d;
};

template <DType T>
inline SuperHead super_head(const uint8_t* src) {
  SuperHead h;
  if constexpr (T == DType::Q6_K) {
    const auto& b = *reinterpret_cast<const block_q6_K*>(src);
    const __m128i sc = _mm_loadu_si128((const __m128i*)b.scales);
    h.scales = _mm256_broadcastsi128_si256(sc);
    h.offset_coef = _mm256_sub_epi16(_mm256_setzero_si256(), _mm256_slli_epi16(_mm256_cvtepi8_epi16(sc), 5));
    h.d = _cvtsh_ss(b.d);
  } else {
    const auto& b = *reinterpret_cast<const typename BlockOf<T>::type*>(src);
    const __m128i sm = k4_scales_mins(b.scales);
    h.scales = _mm256_broadcastsi128_si256(sm);
    h.scaled_mins = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(sm, 8))),
                                  _mm256_set1_ps(-_cvtsh_ss(b.dmin)));
    h.d = _cvtsh_ss(b.d);
  }
  return h;
}

// Chunk c's sub-block scales as int16 lanes: Q4_K/Q5_K one scale for all 32
// values (bytes [c, zero] repeated), Q6_K scale 2c for the first 16 (the low
// 128-bit lane), 2c + 1 for the rest, each byte doubled then shifted down to
// extend its sign.
template <DType T>
inline __m256i chunk_scale(const SuperHead& h, int c) {
  if constexpr (T == DType::Q6_K) {
    const __m256i index = _mm256_set_m128i(_mm_set1_epi8(char(2 * c + 1)), _mm_set1_epi8(char(2 * c)));
    return _mm256_srai_epi16(_mm256_shuffle_epi8(h.scales, index), 8);
  } else {
    return _mm256_shuffle_epi8(h.scales, _mm256_set1_epi16(short(0x8000 | c)));
  }
}

// Chunk c (values 32c .. 32c + 31) as unsigned bytes. Word shifts stand in for
// byte shifts: the masks drop the bits that cross between bytes.
template <DType T>
inline __m256i chunk_values(const uint8_t* src, int c) {
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  if constexpr (T == DType::Q6_K) {
    // Half h = c / 4 covers values 128h..: ql[64h..64h+64) in two rows of 32
    // whose low nibbles are chunks 4h, 4h+1 and high nibbles 4h+2, 4h+3; the
    // bit pairs 0-1 / 2-3 / 4-5 / 6-7 of qh[32h..32h+32) are their top two bits.
    const auto& b = *reinterpret_cast<const block_q6_K*>(src);
    const int h = c / 4, k = c % 4;
    const __m256i ql = _mm256_loadu_si256((const __m256i*)(b.ql + 64 * h + 32 * (k & 1)));
    const __m256i qh = _mm256_loadu_si256((const __m256i*)(b.qh + 32 * h));
    const __m256i low = _mm256_and_si256(k < 2 ? ql : _mm256_srli_epi16(ql, 4), low4);
    const __m256i high = k == 0 ? _mm256_slli_epi16(qh, 4)
                         : k == 1 ? _mm256_slli_epi16(qh, 2)
                         : k == 2 ? qh
                                  : _mm256_srli_epi16(qh, 2);
    return _mm256_or_si256(low, _mm256_and_si256(high, _mm256_set1_epi8(0x30)));
  } else {
    // Chunk 2j: low nibbles of qs[32j..32j+32), chunk 2j+1: their high nibbles.
    const auto& b = *reinterpret_cast<const typename BlockOf<T>::type*>(src);
    const __m256i x = _mm256_loadu_si256((const __m256i*)(b.qs + 32 * (c / 2)));
    const __m256i q = _mm256_and_si256(c % 2 == 0 ? x : _mm256_srli_epi16(x, 4), low4);
    if constexpr (T == DType::Q5_K) {
      // Fifth bit: bit c of qh[i] for value i of the chunk, moved to bit 4.
      const __m256i qh = _mm256_loadu_si256((const __m256i*)b.qh);
      const __m256i moved = c <= 4 ? _mm256_slli_epi16(qh, 4 - c) : _mm256_srli_epi16(qh, c - 4);
      return _mm256_or_si256(q, _mm256_and_si256(moved, _mm256_set1_epi8(0x10)));
    }
    return q;
  }
}

// q * a pairs times the scales, summed into int32 lanes.
inline __m256i chunk_dot(__m256i q, __m256i scale, const int8_t* a) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(q, _mm256_load_si256((const __m256i*)a)), scale);
}

// Super-block s of token t, counted from the activations' pointer `a`.
inline const ActSuper& act_at(const uint8_t* a, size_t group_stride, int64_t t, int64_t s) {
  return *reinterpret_cast<const ActSuper*>(a + s * group_stride + t * sizeof(ActSuper));
}

// Decode: one weight row against up to kDecodeTokens tokens, unpacked in
// registers a chunk at a time (no scratch round trip: at these sizes the weight
// stream from memory is the bound and the unpacking has to keep up with it).
template <DType T, int NT>
void super_decode_row(const uint8_t* row, size_t ahead, const uint8_t* a, size_t group_stride, int64_t n_super,
                      float* out, int64_t out_stride) {
  constexpr size_t block_bytes = sizeof(typename BlockOf<T>::type);
  __m256 acc[NT];
  S1_UNROLL
  for (int t = 0; t < NT; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t s = 0; s < n_super; ++s) {
    const uint8_t* src = row + s * block_bytes;
    prefetch_span<block_bytes>(src + ahead);
    const SuperHead h = super_head<T>(src);
    __m256i dot[NT];
    S1_UNROLL
    for (int t = 0; t < NT; ++t) dot[t] = _mm256_setzero_si256();
    S1_UNROLL
    for (int c = 0; c < kChunks; ++c) {
      const __m256i q = chunk_values<T>(src, c);
      const __m256i scale = chunk_scale<T>(h, c);
      S1_UNROLL
      for (int t = 0; t < NT; ++t)
        dot[t] = _mm256_add_epi32(dot[t], chunk_dot(q, scale, act_at(a, group_stride, t, s).q + 32 * c));
    }
    const __m256 d_main = _mm256_set1_ps(h.d);
    S1_UNROLL
    for (int t = 0; t < NT; ++t) {
      const ActSuper& at = act_at(a, group_stride, t, s);
      if constexpr (T == DType::Q6_K)
        dot[t] = _mm256_add_epi32(dot[t], _mm256_madd_epi16(_mm256_load_si256((const __m256i*)at.sums), h.offset_coef));
      acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(dot[t]), d_main), _mm256_broadcast_ss(&at.d), acc[t]);
      if constexpr (T != DType::Q6_K)
        acc[t] = _mm256_fmadd_ps(h.scaled_mins, _mm256_load_ps(at.scaled_sums), acc[t]);
    }
  }
  S1_UNROLL
  for (int t = 0; t < NT; ++t) out[t * out_stride] = hsum(acc[t]);
}

template <DType T>
void unpack_super_to(const uint8_t* src, WeightSuper& dst) {
  const SuperHead h = super_head<T>(src);
  S1_UNROLL
  for (int c = 0; c < kChunks; ++c) {
    _mm256_store_si256((__m256i*)dst.q[c], chunk_values<T>(src, c));
    _mm256_store_si256((__m256i*)dst.scale[c], chunk_scale<T>(h, c));
  }
  if constexpr (T == DType::Q6_K) {
    _mm256_store_si256((__m256i*)dst.offset_coef, h.offset_coef);
  } else {
    _mm256_store_ps(dst.scaled_mins, h.scaled_mins);
  }
  dst.d = h.d;
}

template <DType T, int R, int NT>
void super_tile(const WeightSuper* const* w, const uint8_t* a, size_t group_stride, int64_t n_super, float* out,
                int64_t out_stride) {
  __m256 acc[R][NT];
  S1_UNROLL
  for (int r = 0; r < R; ++r)
    S1_UNROLL
    for (int t = 0; t < NT; ++t) acc[r][t] = _mm256_setzero_ps();
  for (int64_t s = 0; s < n_super; ++s) {
    __m256i dot[R][NT];
    S1_UNROLL
    for (int r = 0; r < R; ++r)
      S1_UNROLL
      for (int t = 0; t < NT; ++t) dot[r][t] = _mm256_setzero_si256();
    for (int c = 0; c < kChunks; ++c) {
      S1_UNROLL
      for (int r = 0; r < R; ++r) {
        const WeightSuper& ws = w[r][s];
        const __m256i q = _mm256_load_si256((const __m256i*)ws.q[c]);
        const __m256i scale = _mm256_load_si256((const __m256i*)ws.scale[c]);
        S1_UNROLL
        for (int t = 0; t < NT; ++t)
          dot[r][t] = _mm256_add_epi32(dot[r][t], chunk_dot(q, scale, act_at(a, group_stride, t, s).q + 32 * c));
      }
    }
    S1_UNROLL
    for (int r = 0; r < R; ++r) {
      const WeightSuper& ws = w[r][s];
      const __m256 d_main = _mm256_broadcast_ss(&ws.d);
      S1_UNROLL
      for (int t = 0; t < NT; ++t) {
        const ActSuper& at = act_at(a, group_stride, t, s);
        if constexpr (T == DType::Q6_K)
          dot[r][t] = _mm256_add_epi32(dot[r][t], _mm256_madd_epi16(_mm256_load_si256((const __m256i*)at.sums),
                                                                    _mm256_load_si256((const __m256i*)ws.offset_coef)));
        acc[r][t] =
            _mm256_fmadd_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(dot[r][t]), d_main), _mm256_broadcast_ss(&at.d), acc[r][t]);
        if constexpr (T != DType::Q6_K)
          acc[r][t] = _mm256_fmadd_ps(_mm256_load_ps(ws.scaled_mins), _mm256_load_ps(at.scaled_sums), acc[r][t]);
      }
    }
  }
  S1_UNROLL
  for (int t = 0; t < NT; ++t)
    S1_UNROLL
    for (int r = 0; r < R; ++r) out[t * out_stride + r] = hsum(acc[r][t]);
}

template <DType T, int R>
void super_tiles(const WeightSuper* const* w, const uint8_t* a, size_t group_stride, int64_t n_tokens,
                 int64_t n_super, float* out, int64_t out_stride) {
  int64_t t = 0;
  for (; t + kTokens <= n_tokens; t += kTokens)
    super_tile<T, R, kTokens>(w, a + t * sizeof(ActSuper), group_stride, n_super, out + t * out_stride, out_stride);
  with_count<kTokens - 1>(int(n_tokens - t), [&](auto n) {
    super_tile<T, R, n()>(w, a + t * sizeof(ActSuper), group_stride, n_super, out + t * out_stride, out_stride);
  });
}

template <DType T>
void super_rows_of(const WeightMatrix& w, const Activations& act, float* out, int64_t row_begin, int64_t row_end) {
  constexpr size_t block_bytes = sizeof(typename BlockOf<T>::type);
  const int64_t n_super = w.cols / QK_K;
  if (act.n_tokens <= kDecodeTokens) {
    const size_t ahead = prefetch_distance(w);
    auto decode = [&](auto n_tokens) {
      for (int64_t r = row_begin; r < row_end; ++r)
        super_decode_row<T, n_tokens()>(w.data + r * w.row_stride, ahead, act.data, act.group_stride, n_super,
                                        out + r, w.rows);
    };
    return with_count<kDecodeTokens>(int(act.n_tokens), decode);
  }
  auto* unpacked = reinterpret_cast<WeightSuper*>(scratch(1, kRows * n_super * sizeof(WeightSuper)));
  for (int64_t tb = 0; tb < act.n_tokens; tb += kTokenBlock) {
    const int64_t n_block = act.n_tokens - tb < kTokenBlock ? act.n_tokens - tb : kTokenBlock;
    const uint8_t* ab = act.data + tb * sizeof(ActSuper);
    for (int64_t r0 = row_begin; r0 < row_end; r0 += kRows) {
      const int n_rows = row_end - r0 < kRows ? int(row_end - r0) : kRows;
      const WeightSuper* rows[kRows];
      for (int r = 0; r < n_rows; ++r) {
        const uint8_t* src = w.data + (r0 + r) * w.row_stride;
        WeightSuper* dst = unpacked + r * n_super;
        for (int64_t s = 0; s < n_super; ++s) unpack_super_to<T>(src + s * block_bytes, dst[s]);
        rows[r] = dst;
      }
      float* o = out + tb * w.rows + r0;
      if (n_rows == kRows) {
        super_tiles<T, kRows>(rows, ab, act.group_stride, n_block, n_super, o, w.rows);
      } else {
        for (int r = 0; r < n_rows; ++r)
          super_tiles<T, 1>(rows + r, ab, act.group_stride, n_block, n_super, o + r, w.rows);
      }
    }
  }
}

void super_rows(const WeightMatrix& w, const Activations& act, float* out, int64_t row_begin, int64_t row_end) {
  switch (w.type) {
    case DType::Q4_K: return super_rows_of<DType::Q4_K>(w, act, out, row_begin, row_end);
    case DType::Q5_K: return super_rows_of<DType::Q5_K>(w, act, out, row_begin, row_end);
    default: return super_rows_of<DType::Q6_K>(w, act, out, row_begin, row_end);
  }
}

}  // namespace

extern const matmul_kernels::Family kSuperBlockFamily = {sizeof(ActSuper), super_prepare, super_rows};

}  // namespace s1::avx2
