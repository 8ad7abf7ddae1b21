// The logit reductions (tensor/reduce.h) on AVX-512: masked tails, compress-store.
#include <cmath>
#include <limits>

#include "tensor/avx512/kernels.h"
#include "tensor/simd_x86.h"

namespace s1::avx512 {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Lanes [i, i + 16) of x as a mask for the tail of a row.
inline __mmask16 tail_mask(int64_t i, int64_t n) {
  return n - i >= 16 ? __mmask16(0xffff) : __mmask16((1u << (n - i)) - 1);
}

// Loads 16 entries, -inf in the lanes past the end and where x is NaN.
inline __m512 load_entries(const float* x, int64_t i, int64_t n) {
  const __m512 v = _mm512_mask_loadu_ps(_mm512_set1_ps(kNegInf), tail_mask(i, n), x + i);
  return _mm512_mask_mov_ps(_mm512_set1_ps(kNegInf), _mm512_cmp_ps_mask(v, v, _CMP_ORD_Q), v);
}

// exp(x) for x <= 88: 2^n * exp(r) with r = x - n ln2 in [-ln2/2, ln2/2] and a
// degree-6 Taylor polynomial (relative error below 2e-7). Inputs below -87
// (including -inf) give about 1e-38, which adds nothing to a sum of exps.
inline __m512 exp_ps(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145752f), x);  // ln2 split in a high part
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.42860677e-6f), r);        // and the rest
  __m512 p = _mm512_set1_ps(1.0f / 720);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
}

}  // namespace

float max_value(const float* x, int64_t n) {
  __m512 m = _mm512_set1_ps(kNegInf);
  for (int64_t i = 0; i < n; i += 16) m = _mm512_max_ps(m, load_entries(x, i, n));
  return _mm512_reduce_max_ps(m);
}

int64_t first_equal(const float* x, int64_t n, float value) {
  const __m512 target = _mm512_set1_ps(value);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 hit = _mm512_mask_cmp_ps_mask(tail_mask(i, n), _mm512_loadu_ps(x + i), target, _CMP_EQ_OQ);
    if (hit) return i + __builtin_ctz(hit);
  }
  return -1;
}

double log_sum_exp(const float* x, int64_t n, float max) {
  const __m512 shift = _mm512_set1_ps(max);
  // Two float accumulators of 16 lanes: each lane adds under 10K terms of at
  // most 1 for a 152K vocabulary, well inside float precision for a log.
  __m512 sum0 = _mm512_setzero_ps(), sum1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    sum0 = _mm512_add_ps(sum0, exp_ps(_mm512_sub_ps(load_entries(x, i, n), shift)));
    sum1 = _mm512_add_ps(sum1, exp_ps(_mm512_sub_ps(load_entries(x, i + 16, n), shift)));
  }
  for (; i < n; i += 16) {
    const __m512 e = exp_ps(_mm512_sub_ps(load_entries(x, i, n), shift));
    sum0 = _mm512_add_ps(sum0, _mm512_maskz_mov_ps(tail_mask(i, n), e));
  }
  const double sum = double(_mm512_reduce_add_ps(sum0)) + double(_mm512_reduce_add_ps(sum1));
  return double(max) + std::log(sum);
}

int64_t count_at_least(const float* x, int64_t n, float threshold) {
  const __m512 t = _mm512_set1_ps(threshold);
  int64_t count = 0;
  for (int64_t i = 0; i < n; i += 16)
    count += __builtin_popcount(_mm512_mask_cmp_ps_mask(tail_mask(i, n), _mm512_loadu_ps(x + i), t, _CMP_GE_OQ));
  return count;
}

int64_t indices_at_least(const float* x, int64_t n, float threshold, int32_t base, int32_t* out) {
  const __m512 t = _mm512_set1_ps(threshold);
  const __m512i step = _mm512_set1_epi32(16);
  __m512i index = _mm512_add_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                   _mm512_set1_epi32(base));
  int64_t count = 0;
  for (int64_t i = 0; i < n; i += 16, index = _mm512_add_epi32(index, step)) {
    const __mmask16 keep = _mm512_mask_cmp_ps_mask(tail_mask(i, n), _mm512_loadu_ps(x + i), t, _CMP_GE_OQ);
    if (!keep) continue;
    _mm512_mask_compressstoreu_epi32(out + count, keep, index);
    count += __builtin_popcount(keep);
  }
  return count;
}

// silu(x) = x · sigmoid(x), sigmoid from e = exp(-|x|) (never overflows):
// 1 / (1 + e) for x >= 0, e / (1 + e) below.
void swiglu_f32(const float* gate, const float* up, float* out, int64_t n) {
  const __m512 one = _mm512_set1_ps(1.0f), zero = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(i, n);
    const __m512 x = _mm512_maskz_loadu_ps(m, gate + i);
    const __m512 e = exp_ps(_mm512_sub_ps(zero, _mm512_abs_ps(x)));
    const __m512 d = _mm512_div_ps(one, _mm512_add_ps(one, e));
    const __m512 sigmoid = _mm512_mask_mul_ps(d, _mm512_cmp_ps_mask(x, zero, _CMP_LT_OQ), d, e);
    __m512 y = _mm512_mul_ps(x, sigmoid);
    if (up) y = _mm512_mul_ps(y, _mm512_maskz_loadu_ps(m, up + i));
    _mm512_mask_storeu_ps(out + i, m, y);
  }
}

}  // namespace s1::avx512
