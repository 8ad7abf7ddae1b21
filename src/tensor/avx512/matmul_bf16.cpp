// The trainer's BF16 product (train/matmul_bf16.h) on AVX512-BF16: vdpbf16ps,
// two multiply-adds per f32 lane and instruction, in 4 x 4 register tiles.
// This file alone is compiled with avx512bf16 enabled (CMakeLists.txt); the
// set offers it only where the CPU has the extension.
#include "tensor/avx512/kernels.h"
#include "tensor/simd_x86.h"

namespace s1::avx512 {

namespace {

template <int R, int T>
void bf16_tile(const uint16_t* const* w, const uint16_t* const* x, int64_t stride, float* out, int64_t out_stride) {
  __m512 acc[R][T];
  S1_UNROLL
  for (int r = 0; r < R; ++r)
    S1_UNROLL
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  for (int64_t c = 0; c < stride; c += 32) {
    __m512bh wv[R];
    S1_UNROLL
    for (int r = 0; r < R; ++r) wv[r] = (__m512bh)_mm512_loadu_si512(w[r] + c);
    S1_UNROLL
    for (int t = 0; t < T; ++t) {
      const __m512bh xv = (__m512bh)_mm512_loadu_si512(x[t] + c);
      S1_UNROLL
      for (int r = 0; r < R; ++r) acc[r][t] = _mm512_dpbf16_ps(acc[r][t], wv[r], xv);
    }
  }
  S1_UNROLL
  for (int t = 0; t < T; ++t)
    S1_UNROLL
    for (int r = 0; r < R; ++r) out[t * out_stride + r] = _mm512_reduce_add_ps(acc[r][t]);
}

template <int R>
void bf16_tiles(const uint16_t* const* w, const uint16_t* const* x, int n_tokens, int64_t stride, float* out,
                int64_t out_stride) {
  constexpr int kTokens = 4;
  int t = 0;
  for (; t + kTokens <= n_tokens; t += kTokens) bf16_tile<R, kTokens>(w, x + t, stride, out + t * out_stride, out_stride);
  matmul_kernels::with_count<kTokens - 1>(n_tokens - t, [&](auto n) {
    bf16_tile<R, n()>(w, x + t, stride, out + t * out_stride, out_stride);
  });
}

}  // namespace

void bf16_rows(const uint16_t* const* w, int n_rows, const uint16_t* const* x, int n_tokens, int64_t stride,
               float* out, int64_t out_stride) {
  constexpr int kRows = 4;
  int r = 0;
  for (; r + kRows <= n_rows; r += kRows) bf16_tiles<kRows>(w + r, x, n_tokens, stride, out + r, out_stride);
  for (; r < n_rows; ++r) bf16_tiles<1>(w + r, x, n_tokens, stride, out + r, out_stride);
}

}  // namespace s1::avx512
