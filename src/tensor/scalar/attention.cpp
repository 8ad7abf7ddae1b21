// The attention block (tensor/attention_kernel.h) in plain C++: 4 query lanes.
#include "tensor/attention_kernel.h"
#include "tensor/quant.h"
#include "tensor/scalar/kernels.h"

namespace s1::scalar {

void attention_block(const AttentionBlock& block) {
  attention_kernel::attention_block<4>(block, [](const uint16_t* src, int64_t n, float* dst) {
    dequantize_row(DType::F16, reinterpret_cast<const uint8_t*>(src), dst, n);
  });
}

}  // namespace s1::scalar
