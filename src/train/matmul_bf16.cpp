#include "train/matmul_bf16.h"

#include <algorithm>

#include "tensor/blocks.h"
#include "util/error.h"
#include "util/thread_pool.h"

#if defined(__AVX512BF16__)
#include "tensor/simd_x86.h"  // its pragmas keep GCC 12's _mm512_reduce_add_ps quiet
#endif

namespace s1::train {

bool bf16_matmul_available() {
#if defined(__AVX512BF16__)
  return true;
#else
  return false;
#endif
}

void to_bf16_rows(const float* src, int64_t rows, int64_t cols, Bf16Rows& out) {
  out.rows = rows;
  out.cols = cols;
  out.stride = (cols + 31) / 32 * 32;
  out.data.assign(size_t(rows * out.stride), 0);
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = src + r * cols;
    uint16_t* dst = out.data.data() + r * out.stride;
    int64_t c = 0;
#if defined(__AVX512BF16__)
    for (; c + 16 <= cols; c += 16)  // round to nearest even, as f32_to_bf16
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + c), (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(row + c)));
#endif
    for (; c < cols; ++c) dst[c] = f32_to_bf16(row[c]);
  }
}

#if defined(__AVX512BF16__)
namespace {

constexpr int kRows = 4, kTokens = 4;

template <int R, int T>
void tile(const uint16_t* const* w, const uint16_t* const* x, int64_t stride, float* out, int64_t out_stride) {
  __m512 acc[R][T];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  for (int64_t c = 0; c < stride; c += 32) {
    __m512bh wv[R];
    for (int r = 0; r < R; ++r) wv[r] = (__m512bh)_mm512_loadu_si512(w[r] + c);
    for (int t = 0; t < T; ++t) {
      const __m512bh xv = (__m512bh)_mm512_loadu_si512(x[t] + c);
      for (int r = 0; r < R; ++r) acc[r][t] = _mm512_dpbf16_ps(acc[r][t], wv[r], xv);
    }
  }
  for (int t = 0; t < T; ++t)
    for (int r = 0; r < R; ++r) out[t * out_stride + r] = _mm512_reduce_add_ps(acc[r][t]);
}

template <int R>
void tiles(const uint16_t* const* w, const Bf16Rows& x, int64_t t_begin, int64_t t_end, float* out, int64_t out_stride) {
  const uint16_t* xs[kTokens];
  for (int64_t t = t_begin; t < t_end; t += kTokens) {
    const int n = int(std::min<int64_t>(kTokens, t_end - t));
    for (int i = 0; i < n; ++i) xs[i] = x.data.data() + (t + i) * x.stride;
    float* o = out + t * out_stride;
    switch (n) {
      case 4: tile<R, 4>(w, xs, x.stride, o, out_stride); break;
      case 3: tile<R, 3>(w, xs, x.stride, o, out_stride); break;
      case 2: tile<R, 2>(w, xs, x.stride, o, out_stride); break;
      default: tile<R, 1>(w, xs, x.stride, o, out_stride); break;
    }
  }
}

void rows_range(const Bf16Rows& w, const Bf16Rows& x, float* out, int64_t begin, int64_t end) {
  constexpr int64_t kTokenBlock = 64;  // a block of tokens stays in L2 while weight rows stream
  for (int64_t tb = 0; tb < x.rows; tb += kTokenBlock) {
    const int64_t te = std::min(x.rows, tb + kTokenBlock);
    for (int64_t r0 = begin; r0 < end; r0 += kRows) {
      const int n = int(std::min<int64_t>(kRows, end - r0));
      const uint16_t* ws[kRows];
      for (int r = 0; r < n; ++r) ws[r] = w.data.data() + (r0 + r) * w.stride;
      if (n == kRows) {
        tiles<kRows>(ws, x, tb, te, out + r0, w.rows);
      } else {
        for (int r = 0; r < n; ++r) tiles<1>(ws + r, x, tb, te, out + r0 + r, w.rows);
      }
    }
  }
}

}  // namespace
#endif

void matmul_bf16(const Bf16Rows& w, const Bf16Rows& x, float* out, ThreadPool& pool) {
  if (w.cols != x.cols) fail("matmul_bf16: weight has {} columns but the input has {}", w.cols, x.cols);
#if defined(__AVX512BF16__)
  const int64_t units = (w.rows + kRows - 1) / kRows;
  pool.run([&](int thread, int n_threads) {
    const int64_t begin = std::min(w.rows, units * thread / n_threads * kRows);
    const int64_t end = std::min(w.rows, units * (thread + 1) / n_threads * kRows);
    if (begin < end) rows_range(w, x, out, begin, end);
  });
#else
  (void)out;
  (void)pool;
  fail("matmul_bf16: this build has no AVX512-BF16 (use f32 training)");
#endif
}

}  // namespace s1::train
