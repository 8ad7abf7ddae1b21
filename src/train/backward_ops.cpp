#include "train/backward_ops.h"

#include <cmath>
#include <vector>

#include "tensor/kernel_set.h"

namespace s1::train {

void rmsnorm_backward(const float* x, const float* weight, const float* dout, float* dx, float* dweight,
                      int64_t n, float eps) {
  // y_i = x_i s w_i with s = (mean(x²) + eps)^-1/2, so
  // dx_i = s w_i dy_i - x_i s³/n Σ_j dy_j w_j x_j.
  double sum_sq = 0.0, dot = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    sum_sq += double(x[i]) * x[i];
    dot += double(dout[i]) * weight[i] * x[i];
  }
  const double s = 1.0 / std::sqrt(sum_sq / double(n) + double(eps));
  const float scale = float(s), coef = float(dot * s * s * s / double(n));
  for (int64_t i = 0; i < n; ++i) {
    dx[i] += scale * weight[i] * dout[i] - coef * x[i];
    if (dweight) dweight[i] += dout[i] * x[i] * scale;
  }
}

void swiglu_backward(const float* gate, const float* up, const float* dout, float* dgate, float* dup, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i], sig = 1.0f / (1.0f + std::exp(-g));
    const float silu = g * sig;
    dup[i] = dout[i] * silu;
    dgate[i] = dout[i] * up[i] * sig * (1.0f + g * (1.0f - sig));
  }
}

void rope_backward(const ops::Rope& rope, float* dx, int n_heads, int head_dim, int64_t pos) {
  rope.apply(dx, n_heads, head_dim, -pos);
}

float cross_entropy(const float* logits, int64_t n_vocab, int32_t target, float scale, float* dlogits) {
  std::copy(logits, logits + n_vocab, dlogits);
  ops::softmax(dlogits, n_vocab);
  for (int64_t i = 0; i < n_vocab; ++i) dlogits[i] *= scale;
  dlogits[target] -= scale;
  // log p from the logits directly: p may underflow to 0 for a confident wrong model.
  float max = logits[0];
  for (int64_t i = 1; i < n_vocab; ++i) max = std::max(max, logits[i]);
  double sum = 0.0;
  for (int64_t i = 0; i < n_vocab; ++i) sum += std::exp(double(logits[i] - max));
  return float(std::log(sum) - double(logits[target] - max));
}

float dot(const float* a, const float* b, int64_t n) { return kernels().dot_f32(a, b, n); }

void axpy(float alpha, const float* x, float* y, int64_t n) { kernels().axpy_f32(alpha, x, y, n); }

void transpose(const float* src, int64_t rows, int64_t cols, float* dst, int64_t row_begin, int64_t row_end) {
  constexpr int64_t kTile = 32;  // cache-sized tiles: both sides stream whole lines
  for (int64_t r0 = row_begin; r0 < row_end; r0 += kTile)
    for (int64_t c0 = 0; c0 < cols; c0 += kTile)
      for (int64_t r = r0; r < std::min(row_end, r0 + kTile); ++r)
        for (int64_t c = c0; c < std::min(cols, c0 + kTile); ++c) dst[c * rows + r] = src[r * cols + c];
}

}  // namespace s1::train
