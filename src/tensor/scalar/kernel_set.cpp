#include "tensor/kernel_set.h"
#include "tensor/scalar/kernels.h"

namespace s1 {

const KernelSet& scalar_kernels() {
  static const KernelSet set = {
      "scalar",
      &scalar::kFloatFamily,
      &scalar::kInt8Family,
      &scalar::kInt8Family,
      scalar::max_value,
      scalar::first_equal,
      scalar::log_sum_exp,
      scalar::count_at_least,
      scalar::indices_at_least,
      scalar::dot_f32,
      scalar::dot_f16,
      scalar::axpy_f32,
      scalar::axpy_f16,
      scalar::swiglu_f32,
      scalar::delta_rule_rows,
      scalar::attention_block,
      nullptr,
  };
  return set;
}

}  // namespace s1
