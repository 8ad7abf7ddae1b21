// The integer families on SDOT (Armv8.2 dot product), chosen by kernel_set.cpp
// where the CPU reports it. This file alone is compiled for +dotprod
// (src/CMakeLists.txt); the formats and the scheme are those of the widening
// builds (matmul_block32.h, matmul_superblock.h, matmul_int8.h).
#include "tensor/neon/kernels.h"
#include "tensor/neon/matmul_block32.h"
#include "tensor/neon/matmul_superblock.h"

#if !defined(__ARM_FEATURE_DOTPROD)
#error "matmul_dotprod.cpp must be compiled with the dot product enabled (-march=armv8-a+dotprod)"
#endif

namespace s1::neon {

extern const matmul_kernels::Family kBlock32DotFamily = {sizeof(ActGroup), int8_prepare, block32_rows<SdotDot>};
extern const matmul_kernels::Family kSuperBlockDotFamily = {sizeof(ActGroup), int8_prepare, super_rows<SdotDot>};

}  // namespace s1::neon
