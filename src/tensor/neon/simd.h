#pragma once
// Advanced SIMD intrinsics for the NEON kernels (baseline armv8-a; the SDOT
// intrinsics are usable only in files compiled for +dotprod).
#include <arm_neon.h>

// Register tiles index their accumulators by loop counters (acc[t]); rolled,
// GCC keeps such arrays on the stack. Fully unrolled, they live in registers.
#define S1_UNROLL _Pragma("GCC unroll 16")

// The helpers of a kernel's inner loop: GCC's size limits would otherwise
// leave some calls out of line in the large kernels, their register arrays
// passed through memory.
#define S1_INLINE inline __attribute__((always_inline))
