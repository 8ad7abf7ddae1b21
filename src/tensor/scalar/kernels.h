#pragma once
// The plain C++ kernel set: runs on every machine (compiled for the build's
// baseline target only) and is the reference the other sets are tested against.
#include <cstdint>

#include "tensor/matmul_kernels.h"

namespace s1::scalar {

// F32, F16, BF16: each row widened to f32, then f32 dot products with the f32
// activations (no rounding of either).
extern const matmul_kernels::Family kFloatFamily;
// The block and super-block formats: int8 products on int8 activations.
extern const matmul_kernels::Family kInt8Family;

float max_value(const float* x, int64_t n);
int64_t first_equal(const float* x, int64_t n, float value);
double log_sum_exp(const float* x, int64_t n, float max);
int64_t count_at_least(const float* x, int64_t n, float threshold);
int64_t indices_at_least(const float* x, int64_t n, float threshold, int32_t base, int32_t* out);

float dot_f32(const float* a, const float* b, int64_t n);
float dot_f16(const float* a, const uint16_t* b, int64_t n);
void axpy_f32(float w, const float* x, float* y, int64_t n);
void axpy_f16(float w, const uint16_t* x, float* y, int64_t n);

}  // namespace s1::scalar
