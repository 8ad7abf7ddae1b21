// F32 / F16 / BF16 weights against f32 activations with exact f32 FMA (no
// rounding of the activations: these are the types whose logits must match
// llama.cpp to 1e-3). F16 and BF16 rows are widened to f32 into scratch a tile
// at a time (vcvtph2ps / a 16-bit shift), then share the F32 tile kernel.
#include <cstring>

#include "tensor/avx2/kernels.h"
#include "tensor/avx2/simd.h"
#include "tensor/matmul_kernels.h"

namespace s1::avx2 {
namespace {

using namespace matmul_kernels;

// A 6 x 2 tile: 12 accumulators, the 2 tokens' activation vectors and a
// weight vector in the 16 ymm registers. The rows (in L1) are loaded once per
// 2 FMAs; the activations, which a block of tokens keeps in L2, once per 6:
// 64 bytes from L2 per 6 cycles of FMAs, where a 4 x 2 tile needs 32 bytes a
// cycle (measured ~10% faster at 512 tokens).
constexpr int kRows = 6;    // weight rows per register tile
constexpr int kTokens = 2;  // tokens per register tile

// acc[r][t] += W[r][0..cols) . X[t][0..cols); the last partial vector is a
// masked load (vmaskmovps reads nothing past the end).
template <int R, int T>
void float_tile(const float* const* w, const float* x, int64_t x_stride, int64_t cols, float* out,
                int64_t out_stride) {
  __m256 acc[R][T];
  S1_UNROLL
  for (int r = 0; r < R; ++r)
    S1_UNROLL
    for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
  int64_t c = 0;
  for (; c + 8 <= cols; c += 8) {
    __m256 xv[T];
    S1_UNROLL
    for (int t = 0; t < T; ++t) xv[t] = _mm256_loadu_ps(x + t * x_stride + c);
    S1_UNROLL
    for (int r = 0; r < R; ++r) {
      const __m256 wv = _mm256_loadu_ps(w[r] + c);
      S1_UNROLL
      for (int t = 0; t < T; ++t) acc[r][t] = _mm256_fmadd_ps(wv, xv[t], acc[r][t]);
    }
  }
  if (c < cols) {
    const __m256i tail = _mm256_cmpgt_epi32(_mm256_set1_epi32(int(cols - c)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    __m256 xv[T];
    S1_UNROLL
    for (int t = 0; t < T; ++t) xv[t] = _mm256_maskload_ps(x + t * x_stride + c, tail);
    S1_UNROLL
    for (int r = 0; r < R; ++r) {
      const __m256 wv = _mm256_maskload_ps(w[r] + c, tail);
      S1_UNROLL
      for (int t = 0; t < T; ++t) acc[r][t] = _mm256_fmadd_ps(wv, xv[t], acc[r][t]);
    }
  }
  S1_UNROLL
  for (int t = 0; t < T; ++t)
    S1_UNROLL
    for (int r = 0; r < R; ++r) out[t * out_stride + r] = hsum(acc[r][t]);
}

template <int R>
void float_tiles(const float* const* w, const float* x, int64_t x_stride, int64_t n_tokens, int64_t cols,
                 float* out, int64_t out_stride) {
  int64_t t = 0;
  for (; t + kTokens <= n_tokens; t += kTokens)
    float_tile<R, kTokens>(w, x + t * x_stride, x_stride, cols, out + t * out_stride, out_stride);
  if (t < n_tokens) float_tile<R, 1>(w, x + t * x_stride, x_stride, cols, out + t * out_stride, out_stride);
}

}  // namespace

void widen_row(DType type, const uint8_t* src, int64_t cols, float* dst) {
  int64_t c = 0;
  const auto* h = reinterpret_cast<const uint16_t*>(src);
  if (type == DType::F16) {
    for (; c + 8 <= cols; c += 8) _mm256_storeu_ps(dst + c, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)(h + c))));
    for (; c < cols; ++c) dst[c] = _cvtsh_ss(h[c]);
  } else {  // BF16: the f32 with the same top 16 bits
    for (; c + 8 <= cols; c += 8) {
      const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i*)(h + c)));
      _mm256_storeu_ps(dst + c, _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16)));
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
                           with_count<kRows>(n_rows, [&](auto n) { float_tiles<n()>(rows, x, x_stride, n_tokens, cols, o, out_stride); });
                         });
}

}  // namespace

extern const matmul_kernels::Family kFloatFamily = {0, float_prepare, float_rows};

}  // namespace s1::avx2
