#pragma once
// Quantized block layouts, byte-identical to ggml's (ggml-common.h), so weights
// are used in place from a GGUF mmap. Sizes are checked against dtype.cpp.
#include <cstdint>
#include <cstring>

namespace s1 {

using f16_bits = uint16_t;   // IEEE half, stored as bits
using bf16_bits = uint16_t;  // bfloat16, stored as bits

constexpr int QK = 32;     // elements per block of the *_0 formats
constexpr int QK_K = 256;  // elements per super-block of the K formats
constexpr int K_SCALE_SIZE = 12;

struct block_q4_0 {
  f16_bits d;
  uint8_t qs[QK / 2];  // nibbles: low = element j, high = element j + 16
};
struct block_q5_0 {
  f16_bits d;
  uint8_t qh[4];  // fifth bits, element j at bit j
  uint8_t qs[QK / 2];
};
struct block_q8_0 {
  f16_bits d;
  int8_t qs[QK];
};
// MXFP4 (OCP microscaling FP4): 32 E2M1 values sharing one power-of-two scale.
struct block_mxfp4 {
  uint8_t e;           // E8M0 exponent: the block's values are multiplied by 2^(e - 128)
  uint8_t qs[QK / 2];  // 4-bit codes, nibbles as Q4_0's: low = element j, high = element j + 16
};
struct block_q4_K {
  f16_bits d;     // super-block scale for the 6-bit scales
  f16_bits dmin;  // super-block scale for the 6-bit mins
  uint8_t scales[K_SCALE_SIZE];  // 8 scales + 8 mins, 6 bits each, packed
  uint8_t qs[QK_K / 2];
};
struct block_q5_K {
  f16_bits d;
  f16_bits dmin;
  uint8_t scales[K_SCALE_SIZE];
  uint8_t qh[QK_K / 8];
  uint8_t qs[QK_K / 2];
};
struct block_q6_K {
  uint8_t ql[QK_K / 2];      // low 4 bits
  uint8_t qh[QK_K / 4];      // high 2 bits
  int8_t scales[QK_K / 16];  // 8-bit scales of 16-element groups
  f16_bits d;
};
struct block_q8_K {  // activations quantized for the K dot products
  float d;
  int8_t qs[QK_K];
  int16_t bsums[QK_K / 16];  // sums of groups of 16
};

static_assert(sizeof(block_q4_0) == 18);
static_assert(sizeof(block_q5_0) == 22);
static_assert(sizeof(block_q8_0) == 34);
static_assert(sizeof(block_mxfp4) == 17);
static_assert(sizeof(block_q4_K) == 144);
static_assert(sizeof(block_q5_K) == 176);
static_assert(sizeof(block_q6_K) == 210);
static_assert(sizeof(block_q8_K) == 292);

// The 8 six-bit scales then the 8 six-bit mins of a Q4_K/Q5_K super-block's
// 12 packed bytes (ggml's get_scale_min_k4 for all 8 sub-blocks at once), as
// 16 bytes in out[0..4). In an unnamed namespace: every kernel set's folder
// gets its own copy, built for its own target.
namespace {
inline void k4_scales_mins(const uint8_t* packed, uint32_t out[4]) {
  constexpr uint32_t kmask1 = 0x3f3f3f3f, kmask2 = 0x0f0f0f0f, kmask3 = 0x03030303;
  uint32_t u[3];
  std::memcpy(u, packed, 12);
  out[0] = u[0] & kmask1;
  out[1] = (u[2] & kmask2) | (((u[0] >> 6) & kmask3) << 4);
  out[2] = u[1] & kmask1;
  out[3] = ((u[2] >> 4) & kmask2) | (((u[1] >> 6) & kmask3) << 4);
}
}  // namespace

// The E2M1 values of the 16 MXFP4 codes, doubled so they are integers (code 8
// is -0); the halving goes into the block scale, e8m0_half.
constexpr int8_t kMxfp4Values[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

// 2^(e - 128): half the E8M0 scale e encodes, exact for every e (0 and 1 give
// subnormals; 255, NaN in the OCP format, is taken as 2^127 as ggml takes it).
// In an unnamed namespace like k4_scales_mins: a copy per kernel folder.
namespace {
inline float e8m0_half(uint8_t e) {
  const uint32_t bits = e < 2 ? uint32_t(0x00200000) << e : uint32_t(e - 1) << 23;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
}  // namespace

// Scalar conversions; the kernels use the F16C / AVX-512 forms.
inline float f16_to_f32(f16_bits h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: renormalize
      exp = 127 - 15 + 1;
      while (!(mant & 0x400)) {
        mant <<= 1;
        --exp;
      }
      mant &= 0x3ff;
      bits = sign | (exp << 23) | (mant << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline f16_bits f32_to_f16(float f) {  // round to nearest even
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  uint32_t abs = x & 0x7fffffff;
  if (abs >= 0x7f800000) return f16_bits(sign | 0x7c00 | (abs > 0x7f800000 ? 0x200 : 0));
  if (abs >= 0x477ff000) return f16_bits(sign | 0x7c00);  // overflow to inf
  if (abs < 0x38800000) {                                 // subnormal or zero
    float af;
    std::memcpy(&af, &abs, 4);
    float scaled = af * 16777216.0f;  // 2^24: units of the smallest subnormal
    uint32_t m = uint32_t(scaled);
    float frac = scaled - float(m);
    if (frac > 0.5f || (frac == 0.5f && (m & 1))) ++m;
    return f16_bits(sign | m);
  }
  uint32_t mant = abs & 0x7fffff;
  uint32_t exp = (abs >> 23) - 127 + 15;
  uint32_t h = (exp << 10) | (mant >> 13);
  uint32_t rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) ++h;
  return f16_bits(sign | h);
}

inline float bf16_to_f32(bf16_bits h) {
  uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline bf16_bits f32_to_bf16(float f) {  // round to nearest even, NaN kept quiet
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffff) > 0x7f800000) return bf16_bits((x >> 16) | 64);
  return bf16_bits((x + (0x7fff + ((x >> 16) & 1))) >> 16);
}

}  // namespace s1
