// Q4_K / Q5_K / Q6_K weights: 256-element super-blocks with small integer
// sub-block scales. Activations are quantized per 256 elements to int8 with
// sums of each 16 (llama.cpp's q8_K), so the integer sub-block scales fold
// into the integer dot product and the float scales apply once per super-block.
//
// A super-block row is unpacked into four 64-element chunks of unsigned bytes
// q (0..15, 0..31 or 0..63) with the sub-block scale of every byte pair as an
// int16 vector. Per chunk and token: vpmaddubsw (q * a, pairs summed to int16,
// no saturation for these ranges) then vpdpwssd (times the scale, summed into
// int32 lanes). The per-sub-block constant (K-quant mins, Q6_K's -32 offset)
// is sum_j coef_j * (sum of the activations of group j), taken from the
// activations' 16-element sums: one vpmaddwd per super-block and token.
#include "tensor/simd_x86.h"

#include <algorithm>
#include <cstring>

#include "tensor/blocks.h"
#include "tensor/matmul_kernels.h"

namespace s1::avx512 {
namespace {

using namespace matmul_kernels;

constexpr int kRows = 2;
constexpr int kTokens = 6;        // a 2 x 6 tile (measured best: 1.8x the 1 x 8 tile at 512 tokens)

template <DType T>
constexpr size_t super_block_bytes() {
  return T == DType::Q4_K ? sizeof(block_q4_K) : T == DType::Q5_K ? sizeof(block_q5_K) : sizeof(block_q6_K);
}

// Unpacked weight super-block (prefill: unpacked once, used by many tokens).
struct alignas(64) WeightSuper {
  uint8_t q[4][64];
  int16_t scale[4][32];     // per byte pair of q
  float scaled_coef[16];    // d_coef * coef: per 16-element group, times the activation group sums
  float d_main;             // times sum(scale * q * a)
};
static_assert(sizeof(WeightSuper) == 640);

// Prepared activation super-block.
struct alignas(64) ActSuper {
  int8_t q[256];
  float scaled_sum[16];     // d * group_sum, for the prefill kernel's float FMA
  int16_t group_sum[16];    // sums of each 16 q, for the decode kernel's vpmaddwd
  float d;
};
static_assert(sizeof(ActSuper) == 384);

static_assert(QK_K == kGroupCols);

void super_prepare(DType, const float* x, int64_t cols, uint8_t* token, size_t group_stride) {
  for (int64_t s = 0; s < cols / QK_K; ++s, x += QK_K) {
    auto* out = reinterpret_cast<ActSuper*>(token + s * group_stride);
    __m512 amax = _mm512_setzero_ps();
    for (int i = 0; i < QK_K; i += 16) amax = _mm512_max_ps(amax, _mm512_abs_ps(_mm512_loadu_ps(x + i)));
    const float m = _mm512_reduce_max_ps(amax);
    out->d = m / 127.0f;
    const __m512 inv = _mm512_set1_ps(m > 0 ? 127.0f / m : 0.0f);
    for (int g = 0; g < 16; ++g) {
      const __m512i q = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + 16 * g), inv));
      _mm_store_si128((__m128i*)(out->q + 16 * g), _mm512_cvtsepi32_epi8(q));
      out->group_sum[g] = int16_t(_mm512_reduce_add_epi32(q));
      out->scaled_sum[g] = float(out->group_sum[g]) * out->d;
    }
  }
}

// The 8 scales then the 8 mins of a Q4_K/Q5_K super-block as bytes, built from
// registers: a 16-byte load of four 4-byte stores would stall.
inline __m128i k4_scales_mins(const uint8_t* packed) {
  uint32_t u[4];
  s1::k4_scales_mins(packed, u);
  return _mm_set_epi64x(int64_t(u[2]) | int64_t(u[3]) << 32, int64_t(u[0]) | int64_t(u[1]) << 32);
}

// One super-block's weights in registers.
struct SuperVectors {
  __m512i q[4];
  __m512i scale[4];
  __m256i coef;
  float d_main, d_coef;
};

// Sub-block scale vectors: int16 lane i of chunk c takes entry c * per_chunk + i / (32 / per_chunk).
template <int PerChunk>
inline void expand_scales(__m512i values, __m512i* out) {
  struct alignas(64) Table {
    int16_t v[4][32];
  };
  static constexpr Table index = [] {
    Table t{};
    for (int c = 0; c < 4; ++c)
      for (int i = 0; i < 32; ++i) t.v[c][i] = int16_t(c * PerChunk + i / (32 / PerChunk));
    return t;
  }();
  S1_UNROLL
  for (int c = 0; c < 4; ++c) out[c] = _mm512_permutexvar_epi16(_mm512_load_si512(index.v[c]), values);
}

template <DType T>
inline SuperVectors unpack_super(const uint8_t* src) {
  SuperVectors v;
  const __m512i low4 = _mm512_set1_epi8(0x0f);
  if constexpr (T == DType::Q4_K || T == DType::Q5_K) {
    using Block = std::conditional_t<T == DType::Q4_K, block_q4_K, block_q5_K>;
    const auto& b = *reinterpret_cast<const Block*>(src);
    const __m256i sm16 = _mm256_cvtepu8_epi16(k4_scales_mins(b.scales));
    expand_scales<2>(_mm512_castsi256_si512(sm16), v.scale);
    const __m256i min_index = _mm256_setr_epi16(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15);
    v.coef = _mm256_permutexvar_epi16(min_index, sm16);
    v.d_main = _cvtsh_ss(b.d);
    v.d_coef = -_cvtsh_ss(b.dmin);
    // Chunk c: low nibbles of qs[32c..32c+32) then their high nibbles.
    const __m512i shifts = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(4), 1);
    [[maybe_unused]] __m512i high_bits;
    if constexpr (T == DType::Q5_K) high_bits = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i*)b.qh));
    S1_UNROLL
    for (int c = 0; c < 4; ++c) {
      const __m512i x = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i*)(b.qs + 32 * c)));
      v.q[c] = _mm512_and_si512(_mm512_srlv_epi16(x, shifts), low4);
      if constexpr (T == DType::Q5_K) {
        // Fifth bit: qh bit 2c for the low nibbles, 2c+1 for the high ones.
        const __m512i select = _mm512_inserti64x4(_mm512_set1_epi8(char(1 << (2 * c))),
                                                  _mm256_set1_epi8(char(1 << (2 * c + 1))), 1);
        v.q[c] = _mm512_mask_add_epi8(v.q[c], _mm512_test_epi8_mask(high_bits, select), v.q[c], _mm512_set1_epi8(16));
      }
    }
  } else {  // Q6_K
    const auto& b = *reinterpret_cast<const block_q6_K*>(src);
    const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)b.scales));
    expand_scales<4>(_mm512_castsi256_si512(sc16), v.scale);
    // The -32 offset of every value, as a constant term with the main scale
    // (so the decode kernel adds it to the integer dot product).
    v.coef = _mm256_sub_epi16(_mm256_setzero_si256(), _mm256_slli_epi16(sc16, 5));
    v.d_main = _cvtsh_ss(b.d);
    v.d_coef = v.d_main;
    const __m512i bits45 = _mm512_set1_epi8(0x30);
    // Half h covers elements 128h..: ql[64h..64h+64) low nibbles (chunk 2h) and
    // high nibbles (chunk 2h+1); qh[32h..32h+32) bit pairs 0,1 / 2,3 / 4,5 / 6,7
    // give elements +0, +32, +64, +96 their top two bits.
    const __m512i shift_low = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);
    const __m512i shift_high = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1);
    for (int h = 0; h < 2; ++h) {
      const __m512i ql = _mm512_loadu_si512(b.ql + 64 * h);
      const __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i*)(b.qh + 32 * h)));
      v.q[2 * h] = _mm512_ternarylogic_epi32(_mm512_sllv_epi16(qh, shift_low), bits45, _mm512_and_si512(ql, low4),
                                             0xea);  // (a & b) | c
      v.q[2 * h + 1] = _mm512_ternarylogic_epi32(_mm512_srlv_epi16(qh, shift_high), bits45,
                                                 _mm512_and_si512(_mm512_srli_epi16(ql, 4), low4), 0xea);
    }
  }
  return v;
}

template <DType T>
void unpack_super_to(const uint8_t* src, WeightSuper& dst) {
  const SuperVectors v = unpack_super<T>(src);
  S1_UNROLL
  for (int c = 0; c < 4; ++c) {
    _mm512_store_si512(dst.q[c], v.q[c]);
    _mm512_store_si512(dst.scale[c], v.scale[c]);
  }
  const __m512 coef = _mm512_cvtepi32_ps(_mm512_cvtepi16_epi32(v.coef));
  _mm512_store_ps(dst.scaled_coef, _mm512_mul_ps(coef, _mm512_set1_ps(v.d_coef)));
  dst.d_main = v.d_main;
}

// Super-block s of token t, counted from the activations' pointer `a`.
inline const ActSuper& act_at(const uint8_t* a, size_t group_stride, int64_t t, int64_t s) {
  return *reinterpret_cast<const ActSuper*>(a + s * group_stride + t * sizeof(ActSuper));
}

// Decode: one weight row against up to kDecodeTokens tokens, unpacked in
// registers (no scratch round trip: at these sizes the weight stream from
// memory is the bound and the unpacking has to keep up with it).
template <DType T, int NT>
void super_decode_row(const uint8_t* row, size_t ahead, const uint8_t* a, size_t group_stride,
                      int64_t n_super, float* out, int64_t out_stride) {
  constexpr size_t block_bytes = super_block_bytes<T>();
  __m512 acc[NT];
  S1_UNROLL
  for (int t = 0; t < NT; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t s = 0; s < n_super; ++s) {
    prefetch_span<block_bytes>(row + s * block_bytes + ahead);
    const SuperVectors v = unpack_super<T>(row + s * block_bytes);
    const __m512 d_main = _mm512_set1_ps(v.d_main), d_coef = _mm512_set1_ps(v.d_coef);
    S1_UNROLL
    for (int t = 0; t < NT; ++t) {
      const ActSuper& at = act_at(a, group_stride, t, s);
      __m512i dot_even = _mm512_setzero_si512(), dot_odd = _mm512_setzero_si512();
      S1_UNROLL
      for (int c = 0; c < 4; c += 2) {
        dot_even = _mm512_dpwssd_epi32(dot_even, _mm512_maddubs_epi16(v.q[c], _mm512_load_si512(at.q + 64 * c)),
                                       v.scale[c]);
        dot_odd = _mm512_dpwssd_epi32(
            dot_odd, _mm512_maddubs_epi16(v.q[c + 1], _mm512_load_si512(at.q + 64 * c + 64)), v.scale[c + 1]);
      }
      // Per token: the activation scale times (integer dot product x main
      // scale + constant term x its scale), the last folded into the integer
      // sum when both scales are the same (Q6_K).
      const __m512i constant = _mm512_zextsi256_si512(
          _mm256_madd_epi16(_mm256_load_si256((const __m256i*)at.group_sum), v.coef));
      const __m512i dot = _mm512_add_epi32(dot_even, dot_odd);
      __m512 sum;
      if constexpr (T == DType::Q6_K) {
        sum = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(dot, constant)), d_main);
      } else {
        sum = _mm512_fmadd_ps(_mm512_cvtepi32_ps(constant), d_coef, _mm512_mul_ps(_mm512_cvtepi32_ps(dot), d_main));
      }
      acc[t] = _mm512_fmadd_ps(sum, _mm512_set1_ps(at.d), acc[t]);
    }
  }
  S1_UNROLL
  for (int t = 0; t < NT; ++t) out[t * out_stride] = _mm512_reduce_add_ps(acc[t]);
}

template <int R, int T>
void super_tile(const WeightSuper* const* w, const uint8_t* a, size_t group_stride, int64_t n_super, float* out,
                int64_t out_stride) {
  __m512 acc[R][T];
  S1_UNROLL
  for (int r = 0; r < R; ++r)
    S1_UNROLL
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  for (int64_t s = 0; s < n_super; ++s) {
    __m512i dot[R][T];
    S1_UNROLL
    for (int r = 0; r < R; ++r)
      S1_UNROLL
      for (int t = 0; t < T; ++t) dot[r][t] = _mm512_setzero_si512();
    S1_UNROLL
    for (int c = 0; c < 4; ++c) {
      S1_UNROLL
      for (int t = 0; t < T; ++t) {
        const __m512i aq = _mm512_load_si512(act_at(a, group_stride, t, s).q + 64 * c);
        S1_UNROLL
        for (int r = 0; r < R; ++r) {
          const WeightSuper& ws = w[r][s];
          const __m512i pairs = _mm512_maddubs_epi16(_mm512_load_si512(ws.q[c]), aq);
          dot[r][t] = _mm512_dpwssd_epi32(dot[r][t], pairs, _mm512_load_si512(ws.scale[c]));
        }
      }
    }
    S1_UNROLL
    for (int t = 0; t < T; ++t) {
      const ActSuper& at = act_at(a, group_stride, t, s);
      const __m512 d_act = _mm512_set1_ps(at.d);
      const __m512 sums = _mm512_load_ps(at.scaled_sum);
      S1_UNROLL
      for (int r = 0; r < R; ++r) {
        const WeightSuper& ws = w[r][s];
        const __m512 dot_w = _mm512_mul_ps(_mm512_cvtepi32_ps(dot[r][t]), _mm512_set1_ps(ws.d_main));
        acc[r][t] = _mm512_fmadd_ps(dot_w, d_act, acc[r][t]);
        acc[r][t] = _mm512_fmadd_ps(_mm512_load_ps(ws.scaled_coef), sums, acc[r][t]);
      }
    }
  }
  S1_UNROLL
  for (int t = 0; t < T; ++t)
    S1_UNROLL
    for (int r = 0; r < R; ++r) out[t * out_stride + r] = _mm512_reduce_add_ps(acc[r][t]);
}

template <int R>
void super_tiles(const WeightSuper* const* w, const uint8_t* a, size_t group_stride, int64_t n_tokens,
                 int64_t n_super, float* out, int64_t out_stride) {
  int64_t t = 0;
  for (; t + kTokens <= n_tokens; t += kTokens)
    super_tile<R, kTokens>(w, a + t * sizeof(ActSuper), group_stride, n_super, out + t * out_stride, out_stride);
  with_count<kTokens - 1>(int(n_tokens - t), [&](auto n) {
    super_tile<R, n()>(w, a + t * sizeof(ActSuper), group_stride, n_super, out + t * out_stride, out_stride);
  });
}

template <DType T>
void super_rows_of(const WeightMatrix& w, const Activations& act, float* out, int64_t row_begin, int64_t row_end) {
  constexpr size_t block_bytes = super_block_bytes<T>();
  const int64_t n_super = w.cols / QK_K;
  if (act.n_tokens <= kDecodeTokens) {
    const size_t ahead = prefetch_distance(w);
    auto decode = [&](auto n_tokens) {
      for (int64_t r = row_begin; r < row_end; ++r)
        super_decode_row<T, n_tokens()>(w.data + r * w.row_stride, ahead, act.data, act.group_stride,
                                        n_super, out + r, w.rows);
    };
    return with_count<kDecodeTokens>(int(act.n_tokens), decode);
  }
  auto* unpacked = reinterpret_cast<WeightSuper*>(scratch(1, kRows * n_super * sizeof(WeightSuper)));
  for (int64_t tb = 0; tb < act.n_tokens; tb += kTokenBlock) {
    const int64_t n_block = std::min(kTokenBlock, act.n_tokens - tb);
    const uint8_t* ab = act.data + tb * sizeof(ActSuper);
    for (int64_t r0 = row_begin; r0 < row_end; r0 += kRows) {
      const int n_rows = int(std::min<int64_t>(kRows, row_end - r0));
      const WeightSuper* rows[kRows];
      for (int r = 0; r < n_rows; ++r) {
        const uint8_t* src = w.data + (r0 + r) * w.row_stride;
        WeightSuper* dst = unpacked + r * n_super;
        for (int64_t s = 0; s < n_super; ++s) unpack_super_to<T>(src + s * block_bytes, dst[s]);
        rows[r] = dst;
      }
      float* o = out + tb * w.rows + r0;
      if (n_rows == kRows) {
        super_tiles<kRows>(rows, ab, act.group_stride, n_block, n_super, o, w.rows);
      } else {
        for (int r = 0; r < n_rows; ++r)
          super_tiles<1>(rows + r, ab, act.group_stride, n_block, n_super, o + r, w.rows);
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

}  // namespace s1::avx512
