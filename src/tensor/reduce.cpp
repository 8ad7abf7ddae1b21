// The contracts of reduce.h (NaN and -inf handling, empty rows) here, once;
// the per-instruction-set kernels (kernel_set.h) do the passes over the row.
#include "tensor/reduce.h"

#include <cmath>
#include <limits>

#include "tensor/kernel_set.h"

namespace s1::reduce {

namespace {
constexpr float kNegInf = -std::numeric_limits<float>::infinity();
}  // namespace

float max_value(const float* x, int64_t n) { return n > 0 ? kernels().max_value(x, n) : kNegInf; }

int64_t argmax(const float* x, int64_t n) {
  const KernelSet& k = kernels();
  const float max = max_value(x, n);
  if (!(max > kNegInf)) return -1;
  return k.first_equal(x, n, max);
}

double log_sum_exp(const float* x, int64_t n) {
  const float max = max_value(x, n);
  if (!(max > kNegInf)) return -std::numeric_limits<double>::infinity();
  if (std::isinf(max)) return double(max);
  return kernels().log_sum_exp(x, n, max);
}

int64_t count_at_least(const float* x, int64_t n, float threshold) {
  return n > 0 ? kernels().count_at_least(x, n, threshold) : 0;
}

void indices_at_least(const float* x, int64_t n, float threshold, std::vector<int32_t>& out) {
  // Blocks through a stack buffer: the kernel writes raw memory, and `out`
  // grows by what each block found (a handful near the top logit, typically).
  constexpr int64_t kBlock = 1024;
  int32_t found[kBlock];
  const KernelSet& k = kernels();
  for (int64_t i = 0; i < n; i += kBlock) {
    const int64_t m = k.indices_at_least(x + i, std::min(kBlock, n - i), threshold, int32_t(i), found);
    out.insert(out.end(), found, found + m);
  }
}

}  // namespace s1::reduce
