#include "train/matmul_bf16.h"

#include <algorithm>

#include "tensor/blocks.h"
#include "tensor/kernel_set.h"
#include "util/error.h"
#include "util/thread_pool.h"

namespace s1::train {

bool bf16_matmul_available() { return kernels().bf16_rows != nullptr; }

void to_bf16_rows(const float* src, int64_t rows, int64_t cols, Bf16Rows& out) {
  out.rows = rows;
  out.cols = cols;
  out.stride = (cols + 31) / 32 * 32;
  out.data.assign(size_t(rows * out.stride), 0);
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = src + r * cols;
    uint16_t* dst = out.data.data() + r * out.stride;
    for (int64_t c = 0; c < cols; ++c) dst[c] = f32_to_bf16(row[c]);
  }
}

namespace {

constexpr int kRows = 4;
constexpr int64_t kTokenBlock = 64;  // a block of tokens stays in L2 while weight rows stream

void rows_range(const KernelSet& k, const Bf16Rows& w, const Bf16Rows& x, float* out, int64_t begin, int64_t end) {
  const uint16_t* ws[kRows];
  const uint16_t* xs[kTokenBlock];
  for (int64_t tb = 0; tb < x.rows; tb += kTokenBlock) {
    const int n_tokens = int(std::min(kTokenBlock, x.rows - tb));
    for (int i = 0; i < n_tokens; ++i) xs[i] = x.data.data() + (tb + i) * x.stride;
    for (int64_t r0 = begin; r0 < end; r0 += kRows) {
      const int n_rows = int(std::min<int64_t>(kRows, end - r0));
      for (int r = 0; r < n_rows; ++r) ws[r] = w.data.data() + (r0 + r) * w.stride;
      k.bf16_rows(ws, n_rows, xs, n_tokens, w.stride, out + tb * w.rows + r0, w.rows);
    }
  }
}

}  // namespace

void matmul_bf16(const Bf16Rows& w, const Bf16Rows& x, float* out, ThreadPool& pool) {
  if (w.cols != x.cols) fail("matmul_bf16: weight has {} columns but the input has {}", w.cols, x.cols);
  const KernelSet& k = kernels();
  if (!k.bf16_rows) fail("matmul_bf16: the {} kernels have no BF16 product (it needs AVX512-BF16; use f32 training)", k.name);
  const int64_t units = (w.rows + kRows - 1) / kRows;
  pool.run([&](int thread, int n_threads) {
    const int64_t begin = std::min(w.rows, units * thread / n_threads * kRows);
    const int64_t end = std::min(w.rows, units * (thread + 1) / n_threads * kRows);
    if (begin < end) rows_range(k, w, x, out, begin, end);
  });
}

}  // namespace s1::train
