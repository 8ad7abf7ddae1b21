#pragma once
// The plain C++ kernel set: runs on every machine (compiled for the build's
// baseline target only) and is the reference the other sets are tested against.
#include <cstdint>

#include "tensor/attention_block.h"
#include "tensor/matmul_kernels.h"

namespace s1::scalar {

// F32, F16, BF16: each row widened to f32, then f32 dot products with the f32
// activations (no rounding of either).
extern const matmul_kernels::Family kFloatFamily;
// The block and super-block formats: int8 products on int8 activations.
extern const matmul_kernels::Family kInt8Family;

#include "tensor/kernel_entries.inc"  // max_value ... attention_block

}  // namespace s1::scalar
