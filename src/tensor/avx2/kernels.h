#pragma once
// The AVX2 + FMA + F16C kernel set's entries (assembled in kernel_set.cpp).
#include <cstdint>

#include "tensor/matmul_kernels.h"

namespace s1::avx2 {

extern const matmul_kernels::Family kFloatFamily;       // F32, F16, BF16: f32 FMA on f32 activations
extern const matmul_kernels::Family kBlock32Family;     // Q4_0, Q5_0, Q8_0: int8 on quantized activations
extern const matmul_kernels::Family kSuperBlockFamily;  // Q4_K, Q5_K, Q6_K: int8 on Q8_K-style activations

float max_value(const float* x, int64_t n);
int64_t first_equal(const float* x, int64_t n, float value);
double log_sum_exp(const float* x, int64_t n, float max);
int64_t count_at_least(const float* x, int64_t n, float threshold);
int64_t indices_at_least(const float* x, int64_t n, float threshold, int32_t base, int32_t* out);

float dot_f32(const float* a, const float* b, int64_t n);
float dot_f16(const float* a, const uint16_t* b, int64_t n);
void axpy_f32(float w, const float* x, float* y, int64_t n);
void axpy_f16(float w, const uint16_t* x, float* y, int64_t n);

}  // namespace s1::avx2
