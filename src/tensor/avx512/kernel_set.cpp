#include "tensor/avx512/kernels.h"
#include "tensor/cpu_features.h"
#include "tensor/kernel_set.h"

namespace s1 {

const KernelSet& avx512_kernels() {
  static const KernelSet set = {
      "avx512",
      &avx512::kFloatFamily,
      &avx512::kBlock32Family,
      &avx512::kSuperBlockFamily,
      avx512::max_value,
      avx512::first_equal,
      avx512::log_sum_exp,
      avx512::count_at_least,
      avx512::indices_at_least,
      avx512::dot_f32,
      avx512::dot_f16,
      avx512::axpy_f32,
      avx512::axpy_f16,
      avx512::swiglu_f32,
      avx512::delta_rule_rows,
      avx512::attention_block,
      cpu_features().avx512bf16 ? avx512::bf16_rows : nullptr,
  };
  return set;
}

}  // namespace s1
