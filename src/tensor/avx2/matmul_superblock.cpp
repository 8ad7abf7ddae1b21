// Q4_K / Q5_K / Q6_K weights: 256-element super-blocks with small integer
// sub-block scales. Activations are quantized per 256 elements to int8 with
// sums of each 16 and 32 (llama.cpp's q8_K), so the integer sub-block scales
// fold into the integer dot product and the float scales apply once per
// super-block.
//
// A super-block is unpacked into eight 32-element chunks of unsigned bytes q
// (0..15, 0..31 or 0..63), multiplied by the activations with vpmaddubsw (q *
// a, pairs summed to int16, no saturation for these ranges), then by the
// sub-block scales with vpmaddwd (int16 lanes, summed to int32). The
// per-sub-block constants (K-quant mins, Q6_K's -32 offset) come from the
// activations' sums: one FMA per super-block and token against the weights'
// scaled mins (sums of 32, scaled), or for Q6_K, whose constant shares the main
// scale, one vpmaddwd into the integer sum (sums of 16).
//
// Decode keeps each chunk in one vector, in element order, with its scales
// spread to the int16 lanes: vpmaddubsw, vpmaddwd and vpaddd per chunk and
// token, where AVX-512 VNNI fuses the last two. Prefill lays the chunks out
// transposed (vector k holds values 4k..4k+3 of every chunk, so int32 lane c is
// chunk c's), the weights as they are unpacked and the activations in
// prepare: then vpmaddubsw's int16 products of several vectors add up
// before one vpmaddwd applies the scales (Q4_K: all 8 vectors, 8 * 2 * 15 *
// 127 < 32768; Q5_K: 4; Q6_K: 2, whose 16-value sub-blocks are vectors 0-3 and
// 4-7 of a chunk): 2 to 2.4 instructions per chunk and token instead of 3
// (measured at 512 tokens: Q4_K 1.37x, Q6_K 1.08x the chunk-per-vector form).
#include <cstring>

#include "tensor/avx2/kernels.h"
#include "tensor/avx2/simd.h"
#include "tensor/blocks.h"
#include "tensor/matmul_kernels.h"

namespace s1::avx2 {
namespace {

using namespace matmul_kernels;

// A 2 x 6 prefill tile: 12 integer sums with the weight vector and the
// product fill 14 of the 16 ymm registers (the activations and scales are read
// from L1 as operands); the float accumulators, touched once per super-block,
// live in L1.
constexpr int kRows = 2;
constexpr int kTokens = 6;
constexpr int kChunks = QK_K / 32;

// Prepared activation super-block. q twice: in element order for decode, and
// transposed for prefill (q_t[k] bytes 4c..4c+3 are chunk c's values
// 4k..4k+3); prepare cannot tell which kernels will read them, and transposing
// once here costs less than in each of the calls of every thread.
struct ActSuper {
  int8_t q[QK_K];
  int8_t q_t[kChunks][32];
  float scaled_sums[kChunks];  // d * sum of each 32 q, times the Q4_K/Q5_K mins
  int16_t sums[16];            // sum of each 16 q, times Q6_K's offset
  float d;
  float padding[15];
};
static_assert(sizeof(ActSuper) == 640 && sizeof(ActSuper) % 64 == 0);
// What prefill reads of a token's super-block: all but q.
constexpr size_t kPrefillActBytes = sizeof(ActSuper) - sizeof(ActSuper::q);

// Unpacked weight super-block for prefill, q transposed as the activations' q_t.
struct WeightSuper {
  uint8_t q[kChunks][32];
  // int16 lanes 2c, 2c + 1: chunk c's scale (Q4_K/Q5_K: scale[0] only), or for
  // Q6_K that of its first 16 values (scale[0]: vectors 0-3), then its last 16.
  int16_t scale[2][16];
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

template <DType T>
struct Run;
template <>
struct Run<DType::Q4_K> {
  static constexpr int vectors = 8;  // transposed vectors whose int16 products add up before vpmaddwd
};
template <>
struct Run<DType::Q5_K> {
  static constexpr int vectors = 4;
};
template <>
struct Run<DType::Q6_K> {
  static constexpr int vectors = 2;
};

void super_prepare(DType, const float* x, int64_t cols, uint8_t* token, size_t group_stride) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  for (int64_t s = 0; s < cols / QK_K; ++s, x += QK_K) {
    auto* out = reinterpret_cast<ActSuper*>(token + s * group_stride);
    __m256 amax = _mm256_setzero_ps();
    for (int i = 0; i < QK_K; i += 8) amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)));
    const float m = hmax(amax);
    out->d = m / 127.0f;
    const __m256 inv = _mm256_set1_ps(m > 0 ? 127.0f / m : 0.0f);
    __m256i q[kChunks];
    for (int c = 0; c < kChunks; ++c) {
      int low, high;
      q[c] = quantize32(x + 32 * c, inv, &low, &high);
      _mm256_store_si256((__m256i*)(out->q + 32 * c), q[c]);
      out->sums[2 * c] = int16_t(low);
      out->sums[2 * c + 1] = int16_t(high);
      out->scaled_sums[c] = float(low + high) * out->d;
    }
    transpose8(q);
    for (int k = 0; k < kChunks; ++k) _mm256_store_si256((__m256i*)out->q_t[k], q[k]);
  }
}

// The 8 scales then the 8 mins of a Q4_K/Q5_K super-block as bytes, built from
// registers: a 16-byte load of four 4-byte stores would stall.
inline __m128i k4_scales_mins(const uint8_t* packed) {
  uint32_t u[4];
  s1::k4_scales_mins(packed, u);
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
  __m256i q[kChunks];
  for (int c = 0; c < kChunks; ++c) q[c] = chunk_values<T>(src, c);
  transpose8(q);
  for (int k = 0; k < kChunks; ++k) _mm256_store_si256((__m256i*)dst.q[k], q[k]);
  const __m128i bytes = _mm256_castsi256_si128(h.scales);
  if constexpr (T == DType::Q6_K) {
    const __m128i first = _mm_setr_epi8(0, 0, 2, 2, 4, 4, 6, 6, 8, 8, 10, 10, 12, 12, 14, 14);
    const __m128i last = _mm_add_epi8(first, _mm_set1_epi8(1));
    _mm256_store_si256((__m256i*)dst.scale[0], _mm256_cvtepi8_epi16(_mm_shuffle_epi8(bytes, first)));
    _mm256_store_si256((__m256i*)dst.scale[1], _mm256_cvtepi8_epi16(_mm_shuffle_epi8(bytes, last)));
    _mm256_store_si256((__m256i*)dst.offset_coef, h.offset_coef);
  } else {
    _mm256_store_si256((__m256i*)dst.scale[0], _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(bytes, bytes)));
    _mm256_store_ps(dst.scaled_mins, h.scaled_mins);
  }
  dst.d = h.d;
}

template <DType T, int R, int NT>
void super_tile(const WeightSuper* const* w, const uint8_t* a, size_t group_stride, int64_t n_super, float* out,
                int64_t out_stride) {
  constexpr int run = Run<T>::vectors;
  __m256 acc[R][NT];
  S1_UNROLL
  for (int r = 0; r < R; ++r)
    S1_UNROLL
    for (int t = 0; t < NT; ++t) acc[r][t] = _mm256_setzero_ps();
  for (int64_t s = 0; s < n_super; ++s) {
    const ActSuper* as = &act_at(a, group_stride, 0, s);
    __m256i dot[R][NT];  // int32 lane c: chunk c
    S1_UNROLL
    for (int k0 = 0; k0 < kChunks; k0 += run) {
      __m256i sum[R][NT];  // int16 products of vectors k0 .. k0 + run - 1
      S1_UNROLL
      for (int k = k0; k < k0 + run; ++k) {
        S1_UNROLL
        for (int r = 0; r < R; ++r) {
          const __m256i q = _mm256_load_si256((const __m256i*)w[r][s].q[k]);
          S1_UNROLL
          for (int t = 0; t < NT; ++t) {
            const __m256i pairs = _mm256_maddubs_epi16(q, _mm256_load_si256((const __m256i*)as[t].q_t[k]));
            sum[r][t] = k == k0 ? pairs : pinned(_mm256_add_epi16(sum[r][t], pairs));
          }
        }
      }
      S1_UNROLL
      for (int r = 0; r < R; ++r) {
        const __m256i scale = _mm256_load_si256((const __m256i*)w[r][s].scale[T == DType::Q6_K && k0 >= kChunks / 2]);
        S1_UNROLL
        for (int t = 0; t < NT; ++t) {
          const __m256i s32 = _mm256_madd_epi16(sum[r][t], scale);
          dot[r][t] = k0 == 0 ? s32 : pinned(_mm256_add_epi32(dot[r][t], s32));
        }
      }
    }
    S1_UNROLL
    for (int r = 0; r < R; ++r) {
      const WeightSuper& ws = w[r][s];
      const __m256 d_main = _mm256_broadcast_ss(&ws.d);
      S1_UNROLL
      for (int t = 0; t < NT; ++t) {
        const ActSuper& at = as[t];
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
  const int64_t block = prefill_block_tokens(act.n_tokens, n_super * kPrefillActBytes, kTokens);
  auto* unpacked = reinterpret_cast<WeightSuper*>(scratch(1, kRows * n_super * sizeof(WeightSuper)));
  for (int64_t tb = 0; tb < act.n_tokens; tb += block) {
    const int64_t n_block = act.n_tokens - tb < block ? act.n_tokens - tb : block;
    const uint8_t* a = act.data + tb * sizeof(ActSuper);
    for (int64_t r0 = row_begin; r0 < row_end; r0 += kRows) {
      const int n_rows = row_end - r0 < kRows ? int(row_end - r0) : kRows;
      const WeightSuper* rows[kRows];
      for (int r = 0; r < n_rows; ++r) {
        const uint8_t* src = w.data + (r0 + r) * w.row_stride;
        WeightSuper* dst = unpacked + r * n_super;
        for (int64_t s = 0; s < n_super; ++s) unpack_super_to<T>(src + s * block_bytes, dst[s]);
        rows[r] = dst;
      }
      const int64_t next = r0 + kRows;
      prefetch_rows(w.data + next * w.row_stride, int(row_end - next < kRows ? row_end - next : kRows), w.row_stride,
                    size_t(n_super) * block_bytes);
      float* o = out + tb * w.rows + r0;
      if (n_rows == kRows) {
        super_tiles<T, kRows>(rows, a, act.group_stride, n_block, n_super, o, w.rows);
      } else {
        for (int r = 0; r < n_rows; ++r) super_tiles<T, 1>(rows + r, a, act.group_stride, n_block, n_super, o + r, w.rows);
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
