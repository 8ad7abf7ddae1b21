#pragma once
// A BF16 matrix product for training (opt-in, `s1 train --bf16`): weights and
// activations rounded to bfloat16, products summed in f32 by the kernel set's
// bf16_rows (AVX512-BF16's vdpbf16ps). Deterministic: each
// output is summed by one thread in a fixed order.
#include <cstdint>
#include <vector>

namespace s1 {
class ThreadPool;
}

namespace s1::train {

// Whether the kernels in use have a BF16 product (AVX512-BF16).
bool bf16_matmul_available();

// Rows of bf16 values, each padded with zeros to a multiple of 32 elements.
struct Bf16Rows {
  std::vector<uint16_t> data;
  int64_t rows = 0, cols = 0, stride = 0;
};
void to_bf16_rows(const float* src, int64_t rows, int64_t cols, Bf16Rows& out);

// out[t * w.rows + r] = Σ_c w[r][c] · x[t][c] (w.cols == x.cols).
void matmul_bf16(const Bf16Rows& w, const Bf16Rows& x, float* out, ThreadPool& pool);

}  // namespace s1::train
