// Reductions over logits and the attention/backward vector arithmetic in plain
// C++ (the contracts are in tensor/reduce.h and tensor/kernel_set.h).
#include <cmath>
#include <cstring>
#include <limits>

#include "tensor/blocks.h"
#include "tensor/scalar/kernels.h"

namespace s1::scalar {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr int kLanes = 8;

// exp(x) for x <= 0 as the vector sets compute it: 2^n * exp(r), r = x - n ln2,
// a degree-6 polynomial (relative error below 2e-7); below -87 about 1e-38.
inline float exp_nonpositive(float x) {
  x = std::max(x, -87.0f);
  const float n = std::nearbyint(x * 1.44269504f);
  float r = x - n * 0.693145752f;
  r = r - n * 1.42860677e-6f;
  float p = 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const uint32_t bits = uint32_t(int32_t(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, 4);
  return p * scale;
}

}  // namespace

float max_value(const float* x, int64_t n) {
  float m = kNegInf;
  for (int64_t i = 0; i < n; ++i)
    if (x[i] > m) m = x[i];  // false for NaN
  return m;
}

int64_t first_equal(const float* x, int64_t n, float value) {
  for (int64_t i = 0; i < n; ++i)
    if (x[i] == value) return i;
  return -1;
}

double log_sum_exp(const float* x, int64_t n, float max) {
  double sum[kLanes] = {};  // fewer lanes than the vector sets: each must hold more terms
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j)
      if (x[i + j] == x[i + j]) sum[j] += exp_nonpositive(x[i + j] - max);
  double total = 0.0;
  for (; i < n; ++i)
    if (x[i] == x[i]) total += exp_nonpositive(x[i] - max);
  for (double s : sum) total += s;
  return double(max) + std::log(total);
}

int64_t count_at_least(const float* x, int64_t n, float threshold) {
  int64_t count = 0;
  for (int64_t i = 0; i < n; ++i) count += x[i] >= threshold;
  return count;
}

int64_t indices_at_least(const float* x, int64_t n, float threshold, int32_t base, int32_t* out) {
  int64_t count = 0;
  for (int64_t i = 0; i < n; ++i)
    if (x[i] >= threshold) out[count++] = base + int32_t(i);
  return count;
}

float dot_f32(const float* a, const float* b, int64_t n) {
  float acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) acc[j] += a[i + j] * b[i + j];
  float sum = 0.0f;
  for (float s : acc) sum += s;
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

float dot_f16(const float* a, const uint16_t* b, int64_t n) {
  float acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) acc[j] += a[i + j] * f16_to_f32(b[i + j]);
  float sum = 0.0f;
  for (float s : acc) sum += s;
  for (; i < n; ++i) sum += a[i] * f16_to_f32(b[i]);
  return sum;
}

void axpy_f32(float w, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += w * x[i];
}

void axpy_f16(float w, const uint16_t* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += w * f16_to_f32(x[i]);
}

// silu(x) = x · sigmoid(x), sigmoid from e = exp(-|x|) (never overflows).
void swiglu_f32(const float* gate, const float* up, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float x = gate[i], e = std::exp(-std::abs(x)), d = 1.0f / (1.0f + e);
    const float y = x * (x < 0 ? d * e : d);
    out[i] = up ? y * up[i] : y;
  }
}

void delta_rule_rows(float* rows, int64_t n_rows, int64_t dim, const float* k, const float* q, const float* v, float m,
                     float beta, float* o) {
  for (int64_t j = 0; j < n_rows; ++j) {
    float* row = rows + j * dim;
    float a = 0;
    for (int64_t i = 0; i < dim; ++i) a += row[i] * k[i];
    const float step = (v[j] - m * a) * beta / m;
    float b = 0;
    for (int64_t i = 0; i < dim; ++i) {
      row[i] += step * k[i];
      b += row[i] * q[i];
    }
    o[j] = m * b;
  }
}

}  // namespace s1::scalar
