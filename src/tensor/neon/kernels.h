#pragma once
// The AArch64 Advanced SIMD (NEON) kernel set's entries (assembled in
// kernel_set.cpp). Baseline armv8-a throughout; the integer families come in
// two builds, chosen when the set is assembled: one on widening multiplies
// (every AArch64 CPU) and one on the SDOT dot product (matmul_dotprod.cpp,
// compiled for +dotprod, used where the CPU reports it).
#include <cstdint>

#include "tensor/matmul_kernels.h"

namespace s1::neon {

extern const matmul_kernels::Family kFloatFamily;           // F32, F16, BF16: f32 FMA on f32 activations
extern const matmul_kernels::Family kBlock32Family;         // Q4_0, Q5_0, Q8_0: int8 on quantized activations
extern const matmul_kernels::Family kSuperBlockFamily;      // Q4_K, Q5_K, Q6_K: int8 on quantized activations
extern const matmul_kernels::Family kBlock32DotFamily;      // as kBlock32Family, on SDOT
extern const matmul_kernels::Family kSuperBlockDotFamily;   // as kSuperBlockFamily, on SDOT

float max_value(const float* x, int64_t n);
int64_t first_equal(const float* x, int64_t n, float value);
double log_sum_exp(const float* x, int64_t n, float max);
int64_t count_at_least(const float* x, int64_t n, float threshold);
int64_t indices_at_least(const float* x, int64_t n, float threshold, int32_t base, int32_t* out);

float dot_f32(const float* a, const float* b, int64_t n);
float dot_f16(const float* a, const uint16_t* b, int64_t n);
void axpy_f32(float w, const float* x, float* y, int64_t n);
void axpy_f16(float w, const uint16_t* x, float* y, int64_t n);

}  // namespace s1::neon
