// The logit reductions (tensor/reduce.h) on NEON: 4 lanes, scalar tails (no
// masked loads). Comparisons are false for NaN, which is how NaN entries stay
// absent without a separate test.
#include <cmath>
#include <limits>

#include "tensor/neon/kernels.h"
#include "tensor/neon/simd.h"

namespace s1::neon {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// NaN lanes as -inf.
inline float32x4_t drop_nan(float32x4_t v) { return vbslq_f32(vceqq_f32(v, v), v, vdupq_n_f32(kNegInf)); }

// exp(x) for x <= 0 as the other sets compute it (see avx512/reduce.cpp).
inline float32x4_t exp_ps(float32x4_t x) {
  x = vmaxq_f32(x, vdupq_n_f32(-87.0f));
  const float32x4_t n = vrndnq_f32(vmulq_n_f32(x, 1.44269504f));  // to nearest, ties to even
  float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(0.693145752f));
  r = vfmsq_f32(r, n, vdupq_n_f32(1.42860677e-6f));
  float32x4_t p = vdupq_n_f32(1.0f / 720);
  p = vfmaq_f32(vdupq_n_f32(1.0f / 120), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.0f / 24), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.0f / 6), p, r);
  p = vfmaq_f32(vdupq_n_f32(0.5f), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
  const int32x4_t scale = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);
  return vmulq_f32(p, vreinterpretq_f32_s32(scale));
}

}  // namespace

float max_value(const float* x, int64_t n) {
  // Two running maxima (a compare-select chain each), replaced only by
  // greater entries, as the scalar loop does.
  float32x4_t m0 = vdupq_n_f32(kNegInf), m1 = m0;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const float32x4_t v0 = vld1q_f32(x + i), v1 = vld1q_f32(x + i + 4);
    m0 = vbslq_f32(vcgtq_f32(v0, m0), v0, m0);
    m1 = vbslq_f32(vcgtq_f32(v1, m1), v1, m1);
  }
  float m = vmaxvq_f32(vmaxq_f32(m0, m1));
  for (; i < n; ++i)
    if (x[i] > m) m = x[i];
  return m;
}

int64_t first_equal(const float* x, int64_t n, float value) {
  const float32x4_t target = vdupq_n_f32(value);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const uint32x4_t hit = vorrq_u32(vceqq_f32(vld1q_f32(x + i), target), vceqq_f32(vld1q_f32(x + i + 4), target));
    if (vmaxvq_u32(hit) == 0) continue;
    for (int64_t j = i;; ++j)
      if (x[j] == value) return j;
  }
  for (; i < n; ++i)
    if (x[i] == value) return i;
  return -1;
}

double log_sum_exp(const float* x, int64_t n, float max) {
  // 32 float lanes, as the x86 sets: each adds under 5K terms of at most 1 for
  // a 152K vocabulary, well inside float precision for a log.
  const float32x4_t shift = vdupq_n_f32(max);
  float32x4_t sum[8];
  S1_UNROLL
  for (int j = 0; j < 8; ++j) sum[j] = vdupq_n_f32(0.0f);
  int64_t i = 0;
  for (; i + 32 <= n; i += 32)
    S1_UNROLL
    for (int j = 0; j < 8; ++j)
      sum[j] = vaddq_f32(sum[j], exp_ps(vsubq_f32(drop_nan(vld1q_f32(x + i + 4 * j)), shift)));
  double total = 0.0;
  S1_UNROLL
  for (int j = 0; j < 8; ++j) total += double(vaddvq_f32(sum[j]));
  for (; i < n; ++i)
    if (x[i] == x[i]) total += std::exp(double(x[i]) - double(max));
  return double(max) + std::log(total);
}

int64_t count_at_least(const float* x, int64_t n, float threshold) {
  // A true comparison is all ones, -1: subtracting it counts.
  const float32x4_t t = vdupq_n_f32(threshold);
  uint32x4_t count0 = vdupq_n_u32(0), count1 = count0;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    count0 = vsubq_u32(count0, vcgeq_f32(vld1q_f32(x + i), t));
    count1 = vsubq_u32(count1, vcgeq_f32(vld1q_f32(x + i + 4), t));
  }
  int64_t count = int64_t(vaddvq_u32(count0)) + int64_t(vaddvq_u32(count1));
  for (; i < n; ++i) count += x[i] >= threshold;
  return count;
}

int64_t indices_at_least(const float* x, int64_t n, float threshold, int32_t base, int32_t* out) {
  const float32x4_t t = vdupq_n_f32(threshold);
  const uint32_t lane_bits_init[4] = {1, 2, 4, 8};
  const uint32x4_t lane_bits = vld1q_u32(lane_bits_init);
  int64_t count = 0, i = 0;
  for (; i + 4 <= n; i += 4) {
    unsigned keep = vaddvq_u32(vandq_u32(vcgeq_f32(vld1q_f32(x + i), t), lane_bits));
    for (; keep; keep &= keep - 1) out[count++] = base + int32_t(i + __builtin_ctz(keep));
  }
  for (; i < n; ++i)
    if (x[i] >= threshold) out[count++] = base + int32_t(i);
  return count;
}

// silu(x) = x · sigmoid(x), sigmoid from e = exp(-|x|) as the AVX-512 set does.
void swiglu_f32(const float* gate, const float* up, float* out, int64_t n) {
  const float32x4_t one = vdupq_n_f32(1.0f), zero = vdupq_n_f32(0.0f);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const float32x4_t x = vld1q_f32(gate + i);
    const float32x4_t e = exp_ps(vnegq_f32(vabsq_f32(x)));
    const float32x4_t d = vdivq_f32(one, vaddq_f32(one, e));
    const float32x4_t sigmoid = vbslq_f32(vcltq_f32(x, zero), vmulq_f32(d, e), d);
    float32x4_t y = vmulq_f32(x, sigmoid);
    if (up) y = vmulq_f32(y, vld1q_f32(up + i));
    vst1q_f32(out + i, y);
  }
  for (; i < n; ++i) {
    const float x = gate[i], e = std::exp(-std::abs(x)), d = 1.0f / (1.0f + e);
    const float y = x * (x < 0 ? d * e : d);
    out[i] = up ? y * up[i] : y;
  }
}

}  // namespace s1::neon
