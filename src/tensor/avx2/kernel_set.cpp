#include "tensor/avx2/kernels.h"
#include "tensor/kernel_set.h"

namespace s1 {

const KernelSet& avx2_kernels() {
  static const KernelSet set = {
      "avx2",
      &avx2::kFloatFamily,
      &avx2::kBlock32Family,
      &avx2::kSuperBlockFamily,
      avx2::max_value,
      avx2::first_equal,
      avx2::log_sum_exp,
      avx2::count_at_least,
      avx2::indices_at_least,
      avx2::dot_f32,
      avx2::dot_f16,
      avx2::axpy_f32,
      avx2::axpy_f16,
      avx2::swiglu_f32,
      avx2::delta_rule_rows,
      avx2::attention_block,
      nullptr,
  };
  return set;
}

}  // namespace s1
