// F32 / F16 / BF16 weights on plain C++: a tile of kRows weight rows is
// widened to f32 (quant.cpp) into scratch, then each token of a
// block is dotted with all of them at once, so an activation load serves
// kRows products. Eight independent partial sums per product let the
// compiler keep them in vector registers of the baseline target.
#include <algorithm>

#include "tensor/quant.h"
#include "tensor/scalar/kernels.h"

namespace s1::scalar {

namespace {

using namespace matmul_kernels;

constexpr int kRows = 4;
constexpr int kLanes = 8;

// out[r] = rows[r][0..n) . x[0..n) for r < R.
template <int R>
void dot_rows(const float* const* rows, const float* x, int64_t n, float* out, int64_t out_stride) {
  float acc[R][kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int r = 0; r < R; ++r)
      for (int j = 0; j < kLanes; ++j) acc[r][j] += rows[r][i + j] * x[i + j];
  for (int r = 0; r < R; ++r) {
    float sum = 0.0f;
    for (int j = 0; j < kLanes; ++j) sum += acc[r][j];
    for (int64_t k = i; k < n; ++k) sum += rows[r][k] * x[k];
    out[r * out_stride] = sum;
  }
}

void float_prepare(DType, const float*, int64_t, uint8_t*, size_t) {}

void float_rows(const WeightMatrix& w, const Activations& act, float* out, int64_t row_begin, int64_t row_end) {
  auto widen = [](DType type, const uint8_t* src, int64_t cols, float* dst) { dequantize_row(type, src, dst, cols); };
  float_row_tiles<kRows>(w, act, out, row_begin, row_end, widen,
                         [](const float* const* rows, int n_rows, const float* x, int64_t x_stride, int64_t n_tokens,
                            int64_t cols, float* o, int64_t out_stride) {
                           for (int64_t t = 0; t < n_tokens; ++t) {
                             if (n_rows == kRows) {
                               dot_rows<kRows>(rows, x + t * x_stride, cols, o + t * out_stride, 1);
                             } else {
                               for (int r = 0; r < n_rows; ++r)
                                 dot_rows<1>(rows + r, x + t * x_stride, cols, o + t * out_stride + r, 1);
                             }
                           }
                         });
}

}  // namespace

extern const Family kFloatFamily = {0, float_prepare, float_rows};

}  // namespace s1::scalar
