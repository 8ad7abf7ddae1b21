// F32 / F16 / BF16 weights against f32 activations with exact f32 FMA (no
// rounding of the activations: these are the types whose logits must match
// llama.cpp to 1e-3). F16 and BF16 rows are widened to f32 into scratch a tile
// at a time (FCVTL / a 16-bit shift), then share the F32 tile kernel.
#include <cstring>

#include "tensor/matmul_kernels.h"
#include "tensor/neon/kernels.h"
#include "tensor/neon/simd.h"

namespace s1::neon {
namespace {

using namespace matmul_kernels;

// A 4 x 4 tile: 16 accumulators (two FMA pipes of 4 cycles' latency need 8
// independent sums; 16 halve the loads per FMA), 4 weight vectors and one
// activation vector of the 32 registers. Per 4 columns it loads 8 vectors for
// 16 FMAs.
constexpr int kRows = 4;    // weight rows per register tile
constexpr int kTokens = 4;  // tokens per register tile

// out[t * out_stride + r] = W[r][0..cols) . X[t][0..cols); the last columns
// (under 4) are scalar FMAs, since NEON has no masked load to stop at the end.
template <int R, int T>
void float_tile(const float* const* w, const float* x, int64_t x_stride, int64_t cols, float* out,
                int64_t out_stride) {
  float32x4_t acc[R][T];
  S1_UNROLL
  for (int r = 0; r < R; ++r)
    S1_UNROLL
    for (int t = 0; t < T; ++t) acc[r][t] = vdupq_n_f32(0.0f);
  int64_t c = 0;
  for (; c + 4 <= cols; c += 4) {
    float32x4_t wv[R];
    S1_UNROLL
    for (int r = 0; r < R; ++r) wv[r] = vld1q_f32(w[r] + c);
    S1_UNROLL
    for (int t = 0; t < T; ++t) {
      const float32x4_t xv = vld1q_f32(x + t * x_stride + c);
      S1_UNROLL
      for (int r = 0; r < R; ++r) acc[r][t] = vfmaq_f32(acc[r][t], wv[r], xv);
    }
  }
  S1_UNROLL
  for (int t = 0; t < T; ++t)
    S1_UNROLL
    for (int r = 0; r < R; ++r) {
      float sum = vaddvq_f32(acc[r][t]);
      for (int64_t k = c; k < cols; ++k) sum = __builtin_fmaf(w[r][k], x[t * x_stride + k], sum);
      out[t * out_stride + r] = sum;
    }
}

template <int R>
void float_tiles(const float* const* w, const float* x, int64_t x_stride, int64_t n_tokens, int64_t cols,
                 float* out, int64_t out_stride) {
  int64_t t = 0;
  for (; t + kTokens <= n_tokens; t += kTokens)
    float_tile<R, kTokens>(w, x + t * x_stride, x_stride, cols, out + t * out_stride, out_stride);
  with_count<kTokens - 1>(int(n_tokens - t), [&](auto n) {
    float_tile<R, n()>(w, x + t * x_stride, x_stride, cols, out + t * out_stride, out_stride);
  });
}

}  // namespace

void widen_row(DType type, const uint8_t* src, int64_t cols, float* dst) {
  int64_t c = 0;
  const auto* h = reinterpret_cast<const uint16_t*>(src);
  if (type == DType::F16) {
    for (; c + 8 <= cols; c += 8) {
      const float16x8_t v = vreinterpretq_f16_u16(vld1q_u16(h + c));
      vst1q_f32(dst + c, vcvt_f32_f16(vget_low_f16(v)));
      vst1q_f32(dst + c + 4, vcvt_high_f32_f16(v));
    }
    for (; c < cols; ++c) dst[c] = vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(h[c]))), 0);
  } else {  // BF16: the f32 with the same top 16 bits
    for (; c + 8 <= cols; c += 8) {
      const uint16x8_t v = vld1q_u16(h + c);
      vst1q_f32(dst + c, vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(v), 16)));
      vst1q_f32(dst + c + 4, vreinterpretq_f32_u32(vshll_high_n_u16(v, 16)));
    }
    for (; c < cols; ++c) {
      const uint32_t bits = uint32_t(h[c]) << 16;
      std::memcpy(dst + c, &bits, 4);
    }
  }
}

namespace {

void float_prepare(DType, const float*, int64_t, uint8_t*, size_t) {}

void float_rows(const WeightMatrix& w, const Activations& act, float* out, int64_t row_begin, int64_t row_end) {
  float_row_tiles<kRows>(w, act, out, row_begin, row_end, widen_row,
                         [](const float* const* rows, int n_rows, const float* x, int64_t x_stride, int64_t n_tokens,
                            int64_t cols, float* o, int64_t out_stride) {
                           if (n_rows == kRows) {
                             float_tiles<kRows>(rows, x, x_stride, n_tokens, cols, o, out_stride);
                           } else {
                             for (int r = 0; r < n_rows; ++r)
                               float_tiles<1>(rows + r, x, x_stride, n_tokens, cols, o + r, out_stride);
                           }
                         });
}

}  // namespace

extern const matmul_kernels::Family kFloatFamily = {0, float_prepare, float_rows};

}  // namespace s1::neon
