#pragma once
// Shared by the AVX-512 integer kernels: the lane layouts of
// matmul_block32.cpp (a block's 8-byte pieces side by side) and
// matmul_superblock.cpp (16 elements per lane) are both a 4-way deinterleave.
#include "tensor/simd_x86.h"

namespace s1::avx512 {
namespace {

// out[k] = unit k of every run of 4 consecutive units of in[0..3], in order
// (units of 4 or 8 bytes): a 4 x 16 dword or 4 x 8 qword transpose, four
// two-source permutes and four 128-bit lane shuffles.
template <int UnitBytes>
inline void deinterleave4(const __m512i in[4], __m512i out[4]) {
  static_assert(UnitBytes == 4 || UnitBytes == 8);
  __m512i lo01, lo23, hi01, hi23;  // from in[0..1] or in[2..3]: units k then k + 1 (01), k + 2 then k + 3 (23)
  if constexpr (UnitBytes == 4) {
    const __m512i first = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 1, 5, 9, 13, 17, 21, 25, 29);
    const __m512i second = _mm512_setr_epi32(2, 6, 10, 14, 18, 22, 26, 30, 3, 7, 11, 15, 19, 23, 27, 31);
    lo01 = _mm512_permutex2var_epi32(in[0], first, in[1]);
    lo23 = _mm512_permutex2var_epi32(in[0], second, in[1]);
    hi01 = _mm512_permutex2var_epi32(in[2], first, in[3]);
    hi23 = _mm512_permutex2var_epi32(in[2], second, in[3]);
  } else {
    const __m512i first = _mm512_setr_epi64(0, 4, 8, 12, 1, 5, 9, 13);
    const __m512i second = _mm512_setr_epi64(2, 6, 10, 14, 3, 7, 11, 15);
    lo01 = _mm512_permutex2var_epi64(in[0], first, in[1]);
    lo23 = _mm512_permutex2var_epi64(in[0], second, in[1]);
    hi01 = _mm512_permutex2var_epi64(in[2], first, in[3]);
    hi23 = _mm512_permutex2var_epi64(in[2], second, in[3]);
  }
  out[0] = _mm512_shuffle_i64x2(lo01, hi01, _MM_SHUFFLE(1, 0, 1, 0));
  out[1] = _mm512_shuffle_i64x2(lo01, hi01, _MM_SHUFFLE(3, 2, 3, 2));
  out[2] = _mm512_shuffle_i64x2(lo23, hi23, _MM_SHUFFLE(1, 0, 1, 0));
  out[3] = _mm512_shuffle_i64x2(lo23, hi23, _MM_SHUFFLE(3, 2, 3, 2));
}

}  // namespace
}  // namespace s1::avx512
