// Q4_0 / Q5_0 / Q8_0 / MXFP4 on widening multiplies, for CPUs without the dot product
// (matmul_block32.h has the format, matmul_int8.h the scheme).
#include "tensor/neon/kernels.h"
#include "tensor/neon/matmul_block32.h"

namespace s1::neon {

extern const matmul_kernels::Family kBlock32Family = {sizeof(ActGroup), int8_prepare, block32_rows<WideningDot>};

}  // namespace s1::neon
