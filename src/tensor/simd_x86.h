#pragma once
// AVX-512 intrinsics for the kernels. GCC 12's headers build the "undefined"
// vectors of many intrinsics from self-initialised locals, which -Wuninitialized
// reports at every inlined use; those warnings are noise, so they are off for
// the files that include this one.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

// Register tiles index their accumulators by loop counters (acc[r][t]); at -O2
// GCC keeps such a loop rolled and the array on the stack, a load and store per
// FMA. Fully unrolled, every accumulator lives in a register.
#define S1_UNROLL _Pragma("GCC unroll 16")
