// The attention block (tensor/attention_kernel.h) for AVX2: 8 query lanes.
#include "tensor/attention_kernel.h"
#include "tensor/avx2/kernels.h"

namespace s1::avx2 {

void attention_block(const AttentionBlock& block) {
  attention_kernel::attention_block<8>(block, [](const uint16_t* src, int64_t n, float* dst) {
    widen_row(DType::F16, reinterpret_cast<const uint8_t*>(src), n, dst);
  });
}

}  // namespace s1::avx2
