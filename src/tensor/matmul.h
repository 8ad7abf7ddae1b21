#pragma once
// Matrix products against weights in their file format (used in place from the
// mmap; no dequantized copy). This is where decode and prefill spend their time.
#include <cstddef>
#include <cstdint>

#include "tensor/dtype.h"

namespace s1 {

class ThreadPool;

// A 2-D weight as GGUF stores it: `rows` rows of `cols` elements each, row r at
// data + r * row_stride (row_stride = row_bytes(type, cols) for a whole tensor).
struct WeightMatrix {
  DType type = DType::F32;
  const uint8_t* data = nullptr;
  int64_t rows = 0;  // output features
  int64_t cols = 0;  // input features (the reduced dimension)
  size_t row_stride = 0;
};

// out[t * rows + r] = sum_c W[r][c] * in[t * cols + c], for t in [0, n_tokens).
// Supported weight types: F32, F16, BF16, Q8_0, Q4_0, Q5_0, MXFP4, Q4_K, Q5_K, Q6_K;
// any other throws s1::Error naming the type and the supported list.
void matmul(const WeightMatrix& w, const float* in, int64_t n_tokens, float* out, ThreadPool& pool);

// Whether matmul() supports `type` (the engine checks every weight at load).
bool matmul_supports(DType type);

}  // namespace s1
