// Dot products and axpy on AVX2 + FMA + F16C (attention over the KV cache, the
// trainer's attention backward): two 8-lane accumulators, scalar tails.
#include "tensor/avx2/kernels.h"
#include "tensor/avx2/simd.h"

namespace s1::avx2 {

namespace {

inline __m256 load_f16(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)p)); }
inline float f16(uint16_t h) { return _cvtsh_ss(h); }

}  // namespace

float dot_f32(const float* a, const float* b, int64_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
  }
  for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
  float sum = hsum(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

float dot_f16(const float* a, const uint16_t* b, int64_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), load_f16(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), load_f16(b + i + 8), acc1);
  }
  for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), load_f16(b + i), acc0);
  float sum = hsum(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) sum += a[i] * f16(b[i]);
  return sum;
}

void axpy_f32(float w, const float* x, float* y, int64_t n) {
  const __m256 wv = _mm256_set1_ps(w);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(wv, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  for (; i < n; ++i) y[i] += w * x[i];
}

void axpy_f16(float w, const uint16_t* x, float* y, int64_t n) {
  const __m256 wv = _mm256_set1_ps(w);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(wv, load_f16(x + i), _mm256_loadu_ps(y + i)));
  for (; i < n; ++i) y[i] += w * f16(x[i]);
}

namespace {

// delta_rule_rows on R rows at once: R independent reductions in flight.
template <int R>
void delta_rows(float* rows, int64_t dim, const float* k, const float* q, const float* v, float m, float beta,
                float* o) {
  const int64_t whole = dim & ~int64_t(7);
  __m256 acc[R];
  float tail_sum[R];
  S1_UNROLL
  for (int r = 0; r < R; ++r) acc[r] = _mm256_setzero_ps(), tail_sum[r] = 0;
  for (int64_t i = 0; i < whole; i += 8) {
    const __m256 kv = _mm256_loadu_ps(k + i);
    S1_UNROLL
    for (int r = 0; r < R; ++r) acc[r] = _mm256_fmadd_ps(_mm256_loadu_ps(rows + r * dim + i), kv, acc[r]);
  }
  for (int64_t i = whole; i < dim; ++i)
    for (int r = 0; r < R; ++r) tail_sum[r] += rows[r * dim + i] * k[i];
  float step[R];
  S1_UNROLL
  for (int r = 0; r < R; ++r) {
    step[r] = (v[r] - m * (hsum(acc[r]) + tail_sum[r])) * beta / m;
    acc[r] = _mm256_setzero_ps();
    tail_sum[r] = 0;
  }
  for (int64_t i = 0; i < whole; i += 8) {
    const __m256 kv = _mm256_loadu_ps(k + i), qv = _mm256_loadu_ps(q + i);
    S1_UNROLL
    for (int r = 0; r < R; ++r) {
      const __m256 x = _mm256_fmadd_ps(_mm256_set1_ps(step[r]), kv, _mm256_loadu_ps(rows + r * dim + i));
      _mm256_storeu_ps(rows + r * dim + i, x);
      acc[r] = _mm256_fmadd_ps(x, qv, acc[r]);
    }
  }
  for (int64_t i = whole; i < dim; ++i)
    for (int r = 0; r < R; ++r) {
      rows[r * dim + i] += step[r] * k[i];
      tail_sum[r] += rows[r * dim + i] * q[i];
    }
  S1_UNROLL
  for (int r = 0; r < R; ++r) o[r] = m * (hsum(acc[r]) + tail_sum[r]);
}

}  // namespace

void delta_rule_rows(float* rows, int64_t n_rows, int64_t dim, const float* k, const float* q, const float* v, float m,
                     float beta, float* o) {
  int64_t j = 0;
  for (; j + 4 <= n_rows; j += 4) delta_rows<4>(rows + j * dim, dim, k, q, v + j, m, beta, o + j);
  for (; j < n_rows; ++j) delta_rows<1>(rows + j * dim, dim, k, q, v + j, m, beta, o + j);
}

}  // namespace s1::avx2
