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
  const int64_t cols = w.cols;
  const auto* x = reinterpret_cast<const float*>(act.data);
  const int64_t x_stride = int64_t(act.stride / sizeof(float));
  auto* unpacked = reinterpret_cast<float*>(scratch(1, size_t(kRows * cols) * sizeof(float)));
  for (int64_t tb = 0; tb < act.n_tokens; tb += kTokenBlock) {
    const int64_t te = std::min(act.n_tokens, tb + kTokenBlock);
    for (int64_t r0 = row_begin; r0 < row_end; r0 += kRows) {
      const int n_rows = int(std::min<int64_t>(kRows, row_end - r0));
      const float* rows[kRows];
      for (int r = 0; r < n_rows; ++r) {
        const uint8_t* src = w.data + (r0 + r) * w.row_stride;
        if (w.type == DType::F32) {
          rows[r] = reinterpret_cast<const float*>(src);
        } else {
          dequantize_row(w.type, src, unpacked + r * cols, cols);
          rows[r] = unpacked + r * cols;
        }
      }
      for (int64_t t = tb; t < te; ++t) {
        float* o = out + t * w.rows + r0;
        if (n_rows == kRows) {
          dot_rows<kRows>(rows, x + t * x_stride, cols, o, 1);
        } else {
          for (int r = 0; r < n_rows; ++r) dot_rows<1>(rows + r, x + t * x_stride, cols, o + r, 1);
        }
      }
    }
  }
}

}  // namespace

extern const Family kFloatFamily = {0, float_prepare, float_rows};

}  // namespace s1::scalar
