#pragma once
// The AVX-512 kernel set's entries (assembled in kernel_set.cpp).
#include <cstdint>

#include "tensor/attention_block.h"
#include "tensor/matmul_kernels.h"

namespace s1::avx512 {

extern const matmul_kernels::Family kFloatFamily;       // F32, F16, BF16: f32 FMA on f32 activations
extern const matmul_kernels::Family kBlock32Family;     // Q4_0, Q5_0, Q8_0, MXFP4: int8 VNNI on 256-element activation groups
extern const matmul_kernels::Family kSuperBlockFamily;  // Q4_K, Q5_K, Q6_K: int8 on Q8_K-style activations

#include "tensor/kernel_entries.inc"  // max_value ... attention_block

// F16 or BF16 row -> f32 (the float family's widening, shared with attention).
void widen_row(DType type, const uint8_t* src, int64_t cols, float* dst);

// AVX512-BF16 (vdpbf16ps); compiled apart with that extension enabled.
void bf16_rows(const uint16_t* const* w, int n_rows, const uint16_t* const* x, int n_tokens, int64_t stride,
               float* out, int64_t out_stride);

}  // namespace s1::avx512
