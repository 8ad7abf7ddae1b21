#include "tensor/cpu_features.h"
#include "tensor/kernel_set.h"
#include "tensor/neon/kernels.h"

namespace s1 {

const KernelSet& neon_kernels() {
  // Every AArch64 CPU runs the widening-multiply integer families; those with
  // the dot product (Cortex-A55/A75 and later, Neoverse, Apple) get SDOT, four
  // int8 products summed per lane in one instruction instead of three.
  static const KernelSet set = [] {
    const bool dotprod = cpu_features().dotprod;
    return KernelSet{
        "neon",
        &neon::kFloatFamily,
        dotprod ? &neon::kBlock32DotFamily : &neon::kBlock32Family,
        dotprod ? &neon::kSuperBlockDotFamily : &neon::kSuperBlockFamily,
        neon::max_value,
        neon::first_equal,
        neon::log_sum_exp,
        neon::count_at_least,
        neon::indices_at_least,
        neon::dot_f32,
        neon::dot_f16,
        neon::axpy_f32,
        neon::axpy_f16,
        neon::swiglu_f32,
        neon::delta_rule_rows,
        neon::attention_block,
        nullptr,
    };
  }();
  return set;
}

}  // namespace s1
