#pragma once
// The AArch64 Advanced SIMD (NEON) kernel set's entries (assembled in
// kernel_set.cpp). Baseline armv8-a throughout; the integer families come in
// two builds, chosen when the set is assembled: one on widening multiplies
// (every AArch64 CPU) and one on the SDOT dot product (matmul_dotprod.cpp,
// compiled for +dotprod, used where the CPU reports it).
#include <cstdint>

#include "tensor/attention_block.h"
#include "tensor/matmul_kernels.h"

namespace s1::neon {

extern const matmul_kernels::Family kFloatFamily;           // F32, F16, BF16: f32 FMA on f32 activations
extern const matmul_kernels::Family kBlock32Family;         // Q4_0, Q5_0, Q8_0, MXFP4: int8 on quantized activations
extern const matmul_kernels::Family kSuperBlockFamily;      // Q4_K, Q5_K, Q6_K: int8 on quantized activations
extern const matmul_kernels::Family kBlock32DotFamily;      // as kBlock32Family, on SDOT
extern const matmul_kernels::Family kSuperBlockDotFamily;   // as kSuperBlockFamily, on SDOT

#include "tensor/kernel_entries.inc"  // max_value ... attention_block

// F16 or BF16 row -> f32 (the float family's widening, shared with attention).
void widen_row(DType type, const uint8_t* src, int64_t cols, float* dst);

}  // namespace s1::neon
