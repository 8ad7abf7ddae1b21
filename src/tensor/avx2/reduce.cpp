// The logit reductions (tensor/reduce.h) on AVX2: 8 lanes, tails through a
// padded copy (AVX2 has no masked loads of floats that fill -inf).
#include <cmath>
#include <limits>

#include "tensor/avx2/kernels.h"
#include "tensor/avx2/simd.h"

namespace s1::avx2 {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Entries [i, i + 8) of x, with `fill` in the lanes past n.
inline __m256 load_tail(const float* x, int64_t i, int64_t n, float fill) {
  alignas(32) float lanes[8];
  for (int j = 0; j < 8; ++j) lanes[j] = i + j < n ? x[i + j] : fill;
  return _mm256_load_ps(lanes);
}

inline __m256 load_or(const float* x, int64_t i, int64_t n, float fill) {
  return n - i >= 8 ? _mm256_loadu_ps(x + i) : load_tail(x, i, n, fill);
}

// NaN lanes as -inf.
inline __m256 drop_nan(__m256 v) { return _mm256_blendv_ps(_mm256_set1_ps(kNegInf), v, _mm256_cmp_ps(v, v, _CMP_ORD_Q)); }

// exp(x) for x <= 0 as the other sets compute it (see avx512/reduce.cpp).
inline __m256 exp_ps(__m256 x) {
  x = _mm256_max_ps(x, _mm256_set1_ps(-87.0f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145752f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.42860677e-6f), r);
  __m256 p = _mm256_set1_ps(1.0f / 720);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  const __m256i scale = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(scale));
}

}  // namespace

float max_value(const float* x, int64_t n) {
  __m256 m0 = _mm256_set1_ps(kNegInf), m1 = m0;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    m0 = _mm256_max_ps(m0, drop_nan(_mm256_loadu_ps(x + i)));
    m1 = _mm256_max_ps(m1, drop_nan(_mm256_loadu_ps(x + i + 8)));
  }
  for (; i < n; i += 8) m0 = _mm256_max_ps(m0, drop_nan(load_or(x, i, n, kNegInf)));
  return hmax(_mm256_max_ps(m0, m1));
}

int64_t first_equal(const float* x, int64_t n, float value) {
  const __m256 target = _mm256_set1_ps(value);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const int hit = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + i), target, _CMP_EQ_OQ));
    if (hit) return i + __builtin_ctz(unsigned(hit));
  }
  for (; i < n; ++i)
    if (x[i] == value) return i;
  return -1;
}

double log_sum_exp(const float* x, int64_t n, float max) {
  // 32 float lanes, as the AVX-512 set: each adds under 5K terms of at most 1
  // for a 152K vocabulary, well inside float precision for a log.
  const __m256 shift = _mm256_set1_ps(max);
  __m256 sum[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  int64_t i = 0;
  for (; i + 32 <= n; i += 32)
    S1_UNROLL
    for (int j = 0; j < 4; ++j)
      sum[j] = _mm256_add_ps(sum[j], exp_ps(_mm256_sub_ps(drop_nan(_mm256_loadu_ps(x + i + 8 * j)), shift)));
  double total = double(hsum(sum[0])) + double(hsum(sum[1])) + double(hsum(sum[2])) + double(hsum(sum[3]));
  for (; i < n; ++i)
    if (x[i] == x[i]) total += std::exp(double(x[i]) - double(max));
  return double(max) + std::log(total);
}

int64_t count_at_least(const float* x, int64_t n, float threshold) {
  const __m256 t = _mm256_set1_ps(threshold);
  int64_t count = 0, i = 0;
  for (; i + 8 <= n; i += 8) count += __builtin_popcount(unsigned(_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + i), t, _CMP_GE_OQ))));
  for (; i < n; ++i) count += x[i] >= threshold;
  return count;
}

int64_t indices_at_least(const float* x, int64_t n, float threshold, int32_t base, int32_t* out) {
  const __m256 t = _mm256_set1_ps(threshold);
  int64_t count = 0, i = 0;
  for (; i + 8 <= n; i += 8) {
    unsigned keep = unsigned(_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + i), t, _CMP_GE_OQ)));
    for (; keep; keep &= keep - 1) out[count++] = base + int32_t(i + __builtin_ctz(keep));
  }
  for (; i < n; ++i)
    if (x[i] >= threshold) out[count++] = base + int32_t(i);
  return count;
}

// silu(x) = x · sigmoid(x), sigmoid from e = exp(-|x|) as the AVX-512 set does.
void swiglu_f32(const float* gate, const float* up, float* out, int64_t n) {
  const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps(), sign = _mm256_set1_ps(-0.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 x = _mm256_loadu_ps(gate + i);
    const __m256 e = exp_ps(_mm256_or_ps(x, sign));  // exp(-|x|)
    const __m256 d = _mm256_div_ps(one, _mm256_add_ps(one, e));
    const __m256 sigmoid = _mm256_blendv_ps(d, _mm256_mul_ps(d, e), _mm256_cmp_ps(x, zero, _CMP_LT_OQ));
    __m256 y = _mm256_mul_ps(x, sigmoid);
    if (up) y = _mm256_mul_ps(y, _mm256_loadu_ps(up + i));
    _mm256_storeu_ps(out + i, y);
  }
  for (; i < n; ++i) {
    const float x = gate[i], e = std::exp(-std::abs(x)), d = 1.0f / (1.0f + e);
    const float y = x * (x < 0 ? d * e : d);
    out[i] = up ? y * up[i] : y;
  }
}

}  // namespace s1::avx2
