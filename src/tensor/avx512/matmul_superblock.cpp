// Q4_K / Q5_K / Q6_K weights: 256-element super-blocks with small integer
// sub-block scales. Activations are quantized per 256 elements to int8 with
// the sums of each 16 (llama.cpp's q8_K).
//
// A super-block is four 64-byte vectors laid out so that each 32-bit lane holds
// 16 consecutive elements, lane i of vector k holding elements 16i + 4k ..
// 16i + 4k + 3 (a 16 x 4 dword transpose of element order): a lane then
// belongs to one sub-block (Q4_K/Q5_K's of 32 elements span two lanes, Q6_K's
// of 16 one), so four vpdpbusd (unsigned q by signed a) sum a lane's 16
// products in integers and the sub-block scales apply per lane in floats,
// once per super-block: per super-block, token and row, 4 vpdpbusd, a
// conversion, a multiply and two FMAs (the second the K-quant mins or Q6_K's
// -32, as sub-block coefficient x the lane's activation sum), where
// vpmaddubsw + vpdpwssd per 64 elements with int16 scales took 8 + 3
// FMA-class operations (a core here issues one a cycle: docs/kernels.md).
// Weights are unpacked straight into the layout (dword permutes and per-lane
// shifts); activations are written in it when prepared.
#include "tensor/simd_x86.h"

#include <algorithm>
#include <cstring>

#include "tensor/avx512/deinterleave.h"
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
  uint8_t q[4][64];      // transposed, 0..15, 0..31 or 0..63
  float scale[16];       // per lane: d * sub-block scale
  float scaled_coef[16]; // per lane: d_coef * coef, times the lane's activation sum
};
static_assert(sizeof(WeightSuper) == 384);

// Prepared activation super-block.
struct alignas(64) ActSuper {
  int8_t q[4][64];       // transposed as the weights
  float scaled_sum[16];  // d * sum of lane i's 16 values (elements 16i .. 16i + 15)
  float d;
};
static_assert(sizeof(ActSuper) == 384);

void super_prepare(DType, const float* x, int64_t cols, uint8_t* token, size_t group_stride) {
  for (int64_t s = 0; s < cols / QK_K; ++s, x += QK_K) {
    auto* out = reinterpret_cast<ActSuper*>(token + s * group_stride);
    __m512 amax = _mm512_setzero_ps();
    for (int i = 0; i < QK_K; i += 16) amax = _mm512_max_ps(amax, _mm512_abs_ps(_mm512_loadu_ps(x + i)));
    const float m = _mm512_reduce_max_ps(amax);
    out->d = m / 127.0f;
    const __m512 inv = _mm512_set1_ps(m > 0 ? 127.0f / m : 0.0f);
    alignas(64) int8_t q[QK_K];
    for (int g = 0; g < 16; ++g) {
      const __m512i v = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + 16 * g), inv));
      _mm_store_si128((__m128i*)(q + 16 * g), _mm512_cvtsepi32_epi8(v));
    }
    __m512i element_order[4], lanes[4];
    S1_UNROLL
    for (int j = 0; j < 4; ++j) element_order[j] = _mm512_load_si512(q + 64 * j);
    deinterleave4<4>(element_order, lanes);  // element order to the lane layout
    // Lane i holds the 16 values of group i, so the group sums are the lanes' sums.
    __m512i sums = _mm512_setzero_si512();
    S1_UNROLL
    for (int k = 0; k < 4; ++k) {
      _mm512_store_si512(out->q[k], lanes[k]);
      sums = _mm512_dpbusd_epi32(sums, _mm512_set1_epi8(1), lanes[k]);
    }
    _mm512_store_ps(out->scaled_sum, _mm512_mul_ps(_mm512_cvtepi32_ps(sums), _mm512_set1_ps(out->d)));
  }
}

// The 8 scales then the 8 mins of a Q4_K/Q5_K super-block as bytes, built from
// registers: a 16-byte load of four 4-byte stores would stall.
inline __m128i k4_scales_mins(const uint8_t* packed) {
  uint32_t u[4];
  s1::k4_scales_mins(packed, u);
  return _mm_set_epi64x(int64_t(u[2]) | int64_t(u[3]) << 32, int64_t(u[0]) | int64_t(u[1]) << 32);
}

// One super-block's weights in registers, in the lane layout.
struct SuperVectors {
  __m512i q[4];
  __m512 scale;  // d * sub-block scale per lane
  __m512 coef;   // d_coef * coef per lane
};

// v.scale and v.coef from the int16 per-lane sub-block scales and coefficients.
inline void set_lane_scales(SuperVectors& v, __m256i scale16, __m256i coef16, float d_main, float d_coef) {
  v.scale = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi16_epi32(scale16)), _mm512_set1_ps(d_main));
  v.coef = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi16_epi32(coef16)), _mm512_set1_ps(d_coef));
}

template <DType T>
inline SuperVectors unpack_super(const uint8_t* src) {
  __m256i scale16, coef16;  // per lane, int16
  float d_main, d_coef;
  const __m512i low4 = _mm512_set1_epi8(0x0f);
  if constexpr (T == DType::Q4_K || T == DType::Q5_K) {
    using Block = std::conditional_t<T == DType::Q4_K, block_q4_K, block_q5_K>;
    const auto& b = *reinterpret_cast<const Block*>(src);
    const __m256i sm16 = _mm256_cvtepu8_epi16(k4_scales_mins(b.scales));
    // A 32-element sub-block spans lanes 2j and 2j + 1: its scale (entry j) and min (8 + j) twice.
    scale16 = _mm256_permutexvar_epi16(_mm256_setr_epi16(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7), sm16);
    coef16 = _mm256_permutexvar_epi16(_mm256_setr_epi16(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15), sm16);
    d_main = _cvtsh_ss(b.d);
    d_coef = -_cvtsh_ss(b.dmin);
    // Straight into the lane layout: sub-block j is the low (even j) or high
    // nibbles of qs[32 (j / 2) ..+32), so lane i of vector k is dword
    // 8 (i / 4) + 4 (i % 2) + k of qs, shifted by 4 when i / 2 is odd (as many
    // operations as unpacking to element order; the transpose after that cost
    // Q5_K's decode a third more time).
    const __m512i qs_low = _mm512_loadu_si512(b.qs), qs_high = _mm512_loadu_si512(b.qs + 64);
    const __m512i shifts = _mm512_setr_epi32(0, 0, 4, 4, 0, 0, 4, 4, 0, 0, 4, 4, 0, 0, 4, 4);
    const __m512i first = _mm512_setr_epi32(0, 4, 0, 4, 8, 12, 8, 12, 16, 20, 16, 20, 24, 28, 24, 28);
    [[maybe_unused]] __m512i high_bits, bit_of_lane, high_first;
    if constexpr (T == DType::Q5_K) {
      // Fifth bits: element e's is bit e / 32 (its sub-block) of qh[e % 32], so
      // lane i of vector k takes qh dword 4 (i % 2) + k, bit i / 2 of each byte.
      high_bits = _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i*)b.qh));
      high_first = _mm512_setr_epi32(0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4);
      bit_of_lane = _mm512_setr_epi32(0x01010101, 0x01010101, 0x02020202, 0x02020202, 0x04040404, 0x04040404,
                                      0x08080808, 0x08080808, 0x10101010, 0x10101010, 0x20202020, 0x20202020,
                                      0x40404040, 0x40404040, int(0x80808080), int(0x80808080));
    }
    SuperVectors v;
    S1_UNROLL
    for (int k = 0; k < 4; ++k) {
      const __m512i x = _mm512_permutex2var_epi32(qs_low, _mm512_add_epi32(first, _mm512_set1_epi32(k)), qs_high);
      v.q[k] = _mm512_and_si512(_mm512_srlv_epi32(x, shifts), low4);
      if constexpr (T == DType::Q5_K) {
        const __m512i h = _mm512_permutexvar_epi32(_mm512_add_epi32(high_first, _mm512_set1_epi32(k)), high_bits);
        v.q[k] = _mm512_mask_add_epi8(v.q[k], _mm512_test_epi8_mask(h, bit_of_lane), v.q[k], _mm512_set1_epi8(16));
      }
    }
    set_lane_scales(v, scale16, coef16, d_main, d_coef);
    return v;
  } else {  // Q6_K: 16 sub-blocks of 16, one per lane
    const auto& b = *reinterpret_cast<const block_q6_K*>(src);
    scale16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)b.scales));
    coef16 = _mm256_sub_epi16(_mm256_setzero_si256(), _mm256_slli_epi16(scale16, 5));  // the -32 of every value
    d_main = _cvtsh_ss(b.d);
    d_coef = d_main;
    // Straight into the lane layout. Element 128h + 32qq + l (l < 32) is the
    // low (qq < 2) or high nibble of ql[64h + 32 (qq % 2) + l] with bits
    // 2qq, 2qq + 1 of qh[32h + l] on top; lane i of vector k holds elements
    // 16i + 4k .., so h = i / 8, qq = i % 8 / 2 and l = 16 (i % 2) + 4k.
    const __m512i ql_low = _mm512_loadu_si512(b.ql), ql_high = _mm512_loadu_si512(b.ql + 64);
    const __m512i qh = _mm512_loadu_si512(b.qh);
    const __m512i ql_first = _mm512_setr_epi32(0, 4, 8, 12, 0, 4, 8, 12, 16, 20, 24, 28, 16, 20, 24, 28);
    const __m512i nibble_shift = _mm512_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4, 0, 0, 0, 0, 4, 4, 4, 4);
    const __m512i qh_first = _mm512_setr_epi32(0, 4, 0, 4, 0, 4, 0, 4, 8, 12, 8, 12, 8, 12, 8, 12);
    const __m512i qh_shift = _mm512_setr_epi32(0, 0, 2, 2, 4, 4, 6, 6, 0, 0, 2, 2, 4, 4, 6, 6);
    SuperVectors v;
    S1_UNROLL
    for (int k = 0; k < 4; ++k) {
      const __m512i kk = _mm512_set1_epi32(k);
      const __m512i low = _mm512_and_si512(
          _mm512_srlv_epi32(_mm512_permutex2var_epi32(ql_low, _mm512_add_epi32(ql_first, kk), ql_high), nibble_shift),
          low4);
      const __m512i high = _mm512_slli_epi32(
          _mm512_srlv_epi32(_mm512_permutexvar_epi32(_mm512_add_epi32(qh_first, kk), qh), qh_shift), 4);
      v.q[k] = _mm512_ternarylogic_epi32(high, _mm512_set1_epi8(0x30), low, 0xea);  // (a & b) | c
    }
    set_lane_scales(v, scale16, coef16, d_main, d_coef);
    return v;
  }
}

template <DType T>
void unpack_super_to(const uint8_t* src, WeightSuper& dst) {
  const SuperVectors v = unpack_super<T>(src);
  S1_UNROLL
  for (int k = 0; k < 4; ++k) _mm512_store_si512(dst.q[k], v.q[k]);
  _mm512_store_ps(dst.scale, v.scale);
  _mm512_store_ps(dst.scaled_coef, v.coef);
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
    S1_UNROLL
    for (int t = 0; t < NT; ++t) {
      const ActSuper& at = act_at(a, group_stride, t, s);
      __m512i dot = _mm512_setzero_si512();
      S1_UNROLL
      for (int k = 0; k < 4; ++k) dot = _mm512_dpbusd_epi32(dot, v.q[k], _mm512_load_si512(at.q[k]));
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(v.scale, _mm512_set1_ps(at.d)), acc[t]);
      acc[t] = _mm512_fmadd_ps(v.coef, _mm512_load_ps(at.scaled_sum), acc[t]);
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
    for (int k = 0; k < 4; ++k) {
      __m512i u[R];
      S1_UNROLL
      for (int r = 0; r < R; ++r) u[r] = _mm512_load_si512(w[r][s].q[k]);
      S1_UNROLL
      for (int t = 0; t < T; ++t) {
        const __m512i aq = _mm512_load_si512(act_at(a, group_stride, t, s).q[k]);
        S1_UNROLL
        for (int r = 0; r < R; ++r) dot[r][t] = _mm512_dpbusd_epi32(dot[r][t], u[r], aq);
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
        acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot[r][t]), _mm512_mul_ps(_mm512_load_ps(ws.scale), d_act),
                                    acc[r][t]);
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
