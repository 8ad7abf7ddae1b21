// F32 / F16 / BF16 weights against f32 activations with exact f32 FMA (no
// rounding of the activations: these are the types whose logits must match
// llama.cpp to 1e-3). F16 and BF16 rows are widened to f32 into scratch a tile
// at a time (vcvtph2ps / a 16-bit shift), then share the F32 tile kernel.
#include "tensor/simd_x86.h"

#include <algorithm>
#include <cstring>

#include "tensor/matmul_kernels.h"

namespace s1::avx512 {
namespace {

using namespace matmul_kernels;

constexpr int kRows = 4;    // weight rows per register tile
constexpr int kTokens = 4;  // tokens per register tile

// acc[r][t] += W[r][0..cols) . X[t][0..cols); the last partial vector is masked.
template <int R, int T>
void float_tile(const float* const* w, const float* x, int64_t x_stride, int64_t cols, float* out,
                int64_t out_stride) {
  __m512 acc[R][T];
  S1_UNROLL
  for (int r = 0; r < R; ++r)
    S1_UNROLL
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  int64_t c = 0;
  for (; c + 16 <= cols; c += 16) {
    __m512 wv[R];
    S1_UNROLL
    for (int r = 0; r < R; ++r) wv[r] = _mm512_loadu_ps(w[r] + c);
    S1_UNROLL
    for (int t = 0; t < T; ++t) {
      const __m512 xv = _mm512_loadu_ps(x + t * x_stride + c);
      S1_UNROLL
      for (int r = 0; r < R; ++r) acc[r][t] = _mm512_fmadd_ps(wv[r], xv, acc[r][t]);
    }
  }
  if (c < cols) {
    const __mmask16 tail = __mmask16((1u << (cols - c)) - 1);
    __m512 wv[R];
    S1_UNROLL
    for (int r = 0; r < R; ++r) wv[r] = _mm512_maskz_loadu_ps(tail, w[r] + c);
    S1_UNROLL
    for (int t = 0; t < T; ++t) {
      const __m512 xv = _mm512_maskz_loadu_ps(tail, x + t * x_stride + c);
      S1_UNROLL
      for (int r = 0; r < R; ++r) acc[r][t] = _mm512_fmadd_ps(wv[r], xv, acc[r][t]);
    }
  }
  S1_UNROLL
  for (int t = 0; t < T; ++t)
    S1_UNROLL
    for (int r = 0; r < R; ++r) out[t * out_stride + r] = _mm512_reduce_add_ps(acc[r][t]);
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
    for (; c + 16 <= cols; c += 16) _mm512_storeu_ps(dst + c, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i*)(h + c))));
    for (; c < cols; ++c) dst[c] = _cvtsh_ss(h[c]);
  } else {  // BF16: the f32 with the same top 16 bits
    for (; c + 16 <= cols; c += 16) {
      const __m512i wide = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i*)(h + c)));
      _mm512_storeu_ps(dst + c, _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16)));
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

}  // namespace s1::avx512
