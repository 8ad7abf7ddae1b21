// Dot products and axpy on AVX-512 (attention over the KV cache, the trainer's
// attention backward): 16 lanes, the tail masked.
#include "tensor/avx512/kernels.h"
#include "tensor/simd_x86.h"

namespace s1::avx512 {

namespace {
inline __mmask16 tail(int64_t left) { return __mmask16((1u << left) - 1); }
inline __m512 load_f16(const uint16_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i*)p)); }
inline __m512 load_f16_tail(const uint16_t* p, int64_t left) {
  return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(tail(left), p));
}
}  // namespace

float dot_f32(const float* a, const float* b, int64_t n) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
  }
  for (; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : tail(n - i);
    acc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), acc0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

float dot_f16(const float* a, const uint16_t* b, int64_t n) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), load_f16(b + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), load_f16(b + i + 16), acc1);
  }
  for (; i < n; i += 16) {
    const int64_t left = n - i >= 16 ? 16 : n - i;
    acc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail(left), a + i), load_f16_tail(b + i, left), acc0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

void axpy_f32(float w, const float* x, float* y, int64_t n) {
  const __m512 wv = _mm512_set1_ps(w);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_fmadd_ps(wv, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
  if (i < n) {
    const __mmask16 m = tail(n - i);
    _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i)));
  }
}

void axpy_f16(float w, const uint16_t* x, float* y, int64_t n) {
  const __m512 wv = _mm512_set1_ps(w);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_fmadd_ps(wv, load_f16(x + i), _mm512_loadu_ps(y + i)));
  if (i < n) {
    const __mmask16 m = tail(n - i);
    _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(wv, load_f16_tail(x + i, n - i), _mm512_maskz_loadu_ps(m, y + i)));
  }
}

namespace {

// delta_rule_rows on R rows at once: R independent reductions in flight.
template <int R>
void delta_rows(float* rows, int64_t dim, const float* k, const float* q, const float* v, float m, float beta,
                float* o) {
  __m512 acc[R];
  S1_UNROLL
  for (int r = 0; r < R; ++r) acc[r] = _mm512_setzero_ps();
  for (int64_t i = 0; i < dim; i += 16) {
    const __mmask16 mask = dim - i >= 16 ? __mmask16(0xffff) : tail(dim - i);
    const __m512 kv = _mm512_maskz_loadu_ps(mask, k + i);
    S1_UNROLL
    for (int r = 0; r < R; ++r) acc[r] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, rows + r * dim + i), kv, acc[r]);
  }
  __m512 step[R];
  S1_UNROLL
  for (int r = 0; r < R; ++r) {
    step[r] = _mm512_set1_ps((v[r] - m * _mm512_reduce_add_ps(acc[r])) * beta / m);
    acc[r] = _mm512_setzero_ps();
  }
  for (int64_t i = 0; i < dim; i += 16) {
    const __mmask16 mask = dim - i >= 16 ? __mmask16(0xffff) : tail(dim - i);
    const __m512 kv = _mm512_maskz_loadu_ps(mask, k + i), qv = _mm512_maskz_loadu_ps(mask, q + i);
    S1_UNROLL
    for (int r = 0; r < R; ++r) {
      const __m512 x = _mm512_fmadd_ps(step[r], kv, _mm512_maskz_loadu_ps(mask, rows + r * dim + i));
      _mm512_mask_storeu_ps(rows + r * dim + i, mask, x);
      acc[r] = _mm512_fmadd_ps(x, qv, acc[r]);
    }
  }
  S1_UNROLL
  for (int r = 0; r < R; ++r) o[r] = m * _mm512_reduce_add_ps(acc[r]);
}

}  // namespace

void delta_rule_rows(float* rows, int64_t n_rows, int64_t dim, const float* k, const float* q, const float* v, float m,
                     float beta, float* o) {
  int64_t j = 0;
  for (; j + 4 <= n_rows; j += 4) delta_rows<4>(rows + j * dim, dim, k, q, v + j, m, beta, o + j);
  for (; j < n_rows; ++j) delta_rows<1>(rows + j * dim, dim, k, q, v + j, m, beta, o + j);
}

}  // namespace s1::avx512
