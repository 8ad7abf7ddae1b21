#include "tensor/ops.h"

#include <algorithm>
#include <cmath>

#include "tensor/blocks.h"
#include "tensor/kernel_set.h"
#include "util/error.h"

namespace s1::ops {

void rmsnorm(const float* x, const float* weight, float* out, int64_t n, float eps) {
  double sum_sq = 0.0;  // double: a long row of large activations must not lose the small ones
  for (int64_t i = 0; i < n; ++i) sum_sq += double(x[i]) * x[i];
  const float scale = float(1.0 / std::sqrt(sum_sq / double(n) + double(eps)));
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] * scale * weight[i];
}

void add(float* x, const float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] += y[i];
}

void add_bias(float* x, const float* bias, int64_t n_rows, int64_t n) {
  for (int64_t r = 0; r < n_rows; ++r) add(x + r * n, bias, n);
}

void softmax(float* x, int64_t n, float sink) {
  if (n <= 0) return;
  const float max = std::max(sink, *std::max_element(x, x + n));
  double sum = std::exp(double(sink) - double(max));  // 0 without a sink
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  const float inv = float(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void swiglu(const float* gate, const float* up, float* out, int64_t n) { kernels().swiglu_f32(gate, up, out, n); }

void swiglu_clamped(const float* gate, const float* up, float* out, int64_t n, float alpha, float limit) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = std::min(gate[i], limit), u = std::clamp(up[i], -limit, limit);
    out[i] = g / (1.0f + std::exp(-alpha * g)) * (u + 1.0f);
  }
}

Rope::Rope(RopeStyle style_, int n_rot_, double theta, double freq_scale, std::span<const float> freq_factors)
    : style(style_), n_rot(n_rot_), inv_freq(size_t(n_rot_ / 2)) {
  if (!freq_factors.empty() && freq_factors.size() < inv_freq.size())
    fail("rope: {} frequency factors for {} rotated pairs", freq_factors.size(), inv_freq.size());
  for (size_t i = 0; i < inv_freq.size(); ++i) {
    double f = freq_scale * std::pow(theta, -2.0 * double(i) / double(n_rot));
    if (!freq_factors.empty()) f /= double(freq_factors[i]);
    inv_freq[i] = f;
  }
}

void Rope::use_yarn(double theta, double freq_scale, std::span<const float> freq_factors, int n_ctx_orig,
                    double beta_fast, double beta_slow, float mscale_) {
  // The pair index below which a pair turns more than `rotations` times over n_ctx_orig positions.
  auto correction_dim = [&](double rotations) {
    return n_rot * std::log(n_ctx_orig / (rotations * 2 * M_PI)) / (2 * std::log(theta));
  };
  const double low = std::max(0.0, std::floor(correction_dim(beta_fast)));
  const double high = std::min(double(n_rot - 1), std::ceil(correction_dim(beta_slow)));
  for (size_t i = 0; i < inv_freq.size(); ++i) {
    double extrapolated = std::pow(theta, -2.0 * double(i) / double(n_rot));
    if (!freq_factors.empty()) extrapolated /= double(freq_factors[i]);
    const double ramp = 1.0 - std::clamp((double(i) - low) / std::max(0.001, high - low), 0.0, 1.0);
    inv_freq[i] = extrapolated * (freq_scale * (1.0 - ramp) + ramp);
  }
  mscale = mscale_;
}

void Rope::keep_text_sections(const std::array<int, 4>& sections) {
  const int total = sections[0] + sections[1] + sections[2] + sections[3];
  if (total <= 0) return;
  for (size_t i = 0; i < inv_freq.size(); ++i) {
    const int sector = int(i) % total;
    const int axis = sector % 3;  // 0 time, 1 height, 2 width, each taking every third pair
    if (sector >= 3 * sections[size_t(axis)]) inv_freq[i] = 0.0;
  }
}

void Rope::apply(float* x, int n_heads, int head_dim, int64_t pos) const {
  const int half = n_rot / 2;
  // Pair i of every head turns by the same angle; compute its cos/sin once.
  thread_local std::vector<float> cos_sin;
  cos_sin.resize(size_t(2 * half));
  float* cs = cos_sin.data();
  for (int i = 0; i < half; ++i) {
    const double angle = double(pos) * inv_freq[size_t(i)];
    cs[2 * i] = float(std::cos(angle)) * mscale;
    cs[2 * i + 1] = float(std::sin(angle)) * mscale;
  }
  for (int h = 0; h < n_heads; ++h) {
    float* v = x + size_t(h) * size_t(head_dim);
    for (int i = 0; i < half; ++i) {
      const int a = style == RopeStyle::neox ? i : 2 * i;
      const int b = style == RopeStyle::neox ? i + half : 2 * i + 1;
      const float x0 = v[a], x1 = v[b], c = cs[2 * i], s = cs[2 * i + 1];
      v[a] = x0 * c - x1 * s;
      v[b] = x0 * s + x1 * c;
    }
  }
}

void attention_block(const AttentionBlock& block) { kernels().attention_block(block); }

void attention_head(const float* q, int head_dim, float scale, DType kv_type, std::span<const KvRun> runs,
                    size_t row_stride, size_t head_offset, float* scores, float* out, float sink, int value_dim) {
  if (kv_type != DType::F32 && kv_type != DType::F16)
    fail("attention: KV cache type {} is not supported (f32, f16)", dtype_name(kv_type));
  const bool f16 = kv_type == DType::F16;
  const size_t elem = f16 ? 2 : 4;
  const KernelSet& k = kernels();

  // Scores: scale * q·k for every cached position.
  int64_t n = 0;
  for (const KvRun& run : runs) {
    for (int r = 0; r < run.n_rows; ++r) {
      const uint8_t* key = run.k + (size_t(r) * row_stride + head_offset) * elem;
      const float d = f16 ? k.dot_f16(q, reinterpret_cast<const f16_bits*>(key), head_dim)
                          : k.dot_f32(q, reinterpret_cast<const float*>(key), head_dim);
      scores[n++] = d * scale;
    }
  }
  softmax(scores, n, sink);

  // Output: the score-weighted sum of the values.
  const int v_dim = value_dim > 0 ? value_dim : head_dim;
  std::fill(out, out + v_dim, 0.0f);
  n = 0;
  for (const KvRun& run : runs) {
    for (int r = 0; r < run.n_rows; ++r) {
      const uint8_t* v = run.v + (size_t(r) * row_stride + head_offset) * elem;
      if (f16)
        k.axpy_f16(scores[n++], reinterpret_cast<const f16_bits*>(v), out, v_dim);
      else
        k.axpy_f32(scores[n++], reinterpret_cast<const float*>(v), out, v_dim);
    }
  }
}

}  // namespace s1::ops
