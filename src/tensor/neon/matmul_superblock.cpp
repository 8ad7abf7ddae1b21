// Q4_K / Q5_K / Q6_K on widening multiplies, for CPUs without the dot product
// (matmul_superblock.h has the formats, matmul_int8.h the scheme).
#include "tensor/neon/kernels.h"
#include "tensor/neon/matmul_superblock.h"

namespace s1::neon {

extern const matmul_kernels::Family kSuperBlockFamily = {sizeof(ActGroup), int8_prepare, super_rows<WideningDot>};

}  // namespace s1::neon
