// The attention block (tensor/attention_kernel.h) for AVX-512: 16 query lanes.
#include "tensor/attention_kernel.h"
#include "tensor/avx512/kernels.h"

namespace s1::avx512 {

void attention_block(const AttentionBlock& block) {
  attention_kernel::attention_block<16>(block, [](const uint16_t* src, int64_t n, float* dst) {
    widen_row(DType::F16, reinterpret_cast<const uint8_t*>(src), n, dst);
  });
}

}  // namespace s1::avx512
