#pragma once
// Reference (scalar, exact) conversion between f32 and every weight format the
// engine computes with. Quantization follows ggml's algorithms so files we
// write are the files llama.cpp writes; dequantization is bit-exact with ggml.
#include <cstddef>
#include <cstdint>

#include "tensor/dtype.h"

namespace s1 {

// Types quantize_row/dequantize_row handle: F32 F16 BF16 Q8_0 Q4_0 Q5_0 Q4_K Q5_K Q6_K MXFP4.
bool quant_supported(DType type);

// dst[0..n) = the n elements starting at `src` as f32; n a multiple of the block size.
void dequantize_row(DType type, const uint8_t* src, float* dst, int64_t n);

// Writes row_bytes(type, n) bytes encoding src[0..n); n a multiple of the block size.
// `importance` (optional, n weights) steers the K-quant scale search like llama.cpp's imatrix
// (MXFP4 ignores it, as ggml's quantize_mxfp4 does).
void quantize_row(DType type, const float* src, uint8_t* dst, int64_t n, const float* importance = nullptr);

}  // namespace s1
