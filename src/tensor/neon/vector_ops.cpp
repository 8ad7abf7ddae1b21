// Dot products and axpy on NEON (attention over the KV cache, the trainer's
// attention backward): four 4-lane accumulators (FMA latency 4, two pipes),
// scalar tails. F16 is widened by FCVTL (vcvt_f32_f16), part of baseline
// AArch64 Advanced SIMD.
#include "tensor/neon/kernels.h"
#include "tensor/neon/simd.h"

namespace s1::neon {

namespace {

inline float32x4_t load_f16(const uint16_t* p) { return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p))); }
inline float f16(uint16_t h) { return vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(h))), 0); }

// a[0..n) . b[0..n), b read through `load` 4 at a time and `one` in the tail.
template <typename Load, typename One, typename B>
inline float dot(const float* a, const B* b, int64_t n, Load load, One one) {
  float32x4_t acc[4];
  S1_UNROLL
  for (int j = 0; j < 4; ++j) acc[j] = vdupq_n_f32(0.0f);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    S1_UNROLL
    for (int j = 0; j < 4; ++j) acc[j] = vfmaq_f32(acc[j], vld1q_f32(a + i + 4 * j), load(b + i + 4 * j));
  for (; i + 4 <= n; i += 4) acc[0] = vfmaq_f32(acc[0], vld1q_f32(a + i), load(b + i));
  float sum = vaddvq_f32(vaddq_f32(vaddq_f32(acc[0], acc[1]), vaddq_f32(acc[2], acc[3])));
  for (; i < n; ++i) sum += a[i] * one(b[i]);
  return sum;
}

}  // namespace

float dot_f32(const float* a, const float* b, int64_t n) {
  return dot(a, b, n, [](const float* p) { return vld1q_f32(p); }, [](float v) { return v; });
}

float dot_f16(const float* a, const uint16_t* b, int64_t n) { return dot(a, b, n, load_f16, f16); }

void axpy_f32(float w, const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vfmaq_n_f32(vld1q_f32(y + i), vld1q_f32(x + i), w));
  for (; i < n; ++i) y[i] += w * x[i];
}

void axpy_f16(float w, const uint16_t* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vfmaq_n_f32(vld1q_f32(y + i), load_f16(x + i), w));
  for (; i < n; ++i) y[i] += w * f16(x[i]);
}

namespace {

// delta_rule_rows on R rows at once: R independent reductions in flight.
template <int R>
void delta_rows(float* rows, int64_t dim, const float* k, const float* q, const float* v, float m, float beta,
                float* o) {
  const int64_t whole = dim & ~int64_t(3);
  float32x4_t acc[R];
  float tail_sum[R];
  S1_UNROLL
  for (int r = 0; r < R; ++r) acc[r] = vdupq_n_f32(0.0f), tail_sum[r] = 0;
  for (int64_t i = 0; i < whole; i += 4) {
    const float32x4_t kv = vld1q_f32(k + i);
    S1_UNROLL
    for (int r = 0; r < R; ++r) acc[r] = vfmaq_f32(acc[r], vld1q_f32(rows + r * dim + i), kv);
  }
  for (int64_t i = whole; i < dim; ++i)
    for (int r = 0; r < R; ++r) tail_sum[r] += rows[r * dim + i] * k[i];
  float step[R];
  S1_UNROLL
  for (int r = 0; r < R; ++r) {
    step[r] = (v[r] - m * (vaddvq_f32(acc[r]) + tail_sum[r])) * beta / m;
    acc[r] = vdupq_n_f32(0.0f);
    tail_sum[r] = 0;
  }
  for (int64_t i = 0; i < whole; i += 4) {
    const float32x4_t kv = vld1q_f32(k + i), qv = vld1q_f32(q + i);
    S1_UNROLL
    for (int r = 0; r < R; ++r) {
      const float32x4_t x = vfmaq_n_f32(vld1q_f32(rows + r * dim + i), kv, step[r]);
      vst1q_f32(rows + r * dim + i, x);
      acc[r] = vfmaq_f32(acc[r], x, qv);
    }
  }
  for (int64_t i = whole; i < dim; ++i)
    for (int r = 0; r < R; ++r) {
      rows[r * dim + i] += step[r] * k[i];
      tail_sum[r] += rows[r * dim + i] * q[i];
    }
  S1_UNROLL
  for (int r = 0; r < R; ++r) o[r] = m * (vaddvq_f32(acc[r]) + tail_sum[r]);
}

}  // namespace

void delta_rule_rows(float* rows, int64_t n_rows, int64_t dim, const float* k, const float* q, const float* v, float m,
                     float beta, float* o) {
  int64_t j = 0;
  for (; j + 4 <= n_rows; j += 4) delta_rows<4>(rows + j * dim, dim, k, q, v + j, m, beta, o + j);
  for (; j < n_rows; ++j) delta_rows<1>(rows + j * dim, dim, k, q, v + j, m, beta, o + j);
}

}  // namespace s1::neon
