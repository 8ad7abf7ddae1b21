#pragma once
// Q4_0 / Q5_0 / Q8_0 / MXFP4 weights: 32-element blocks with an f16 scale (an
// E8M0 power of two for MXFP4), a unit per block, unpacked to signed bytes (the
// scheme is in matmul_int8.h). Compiled into matmul_block32.cpp (widening
// multiplies) and matmul_dotprod.cpp (SDOT).
//
// MXFP4's 4-bit codes sit in Q4_0's nibble layout; one TBL per 16 maps them to
// their doubled E2M1 values (-12..12, signed: no offset, as everywhere here).
#include "tensor/neon/matmul_int8.h"

namespace s1::neon {
namespace {

// The block scales b[0..4) as floats, 0 from the n-th on (rows whose length
// is not a multiple of 256). Gathered in a general register: four 2-byte
// stores and a vector load of them would stall on the store forwarding.
template <typename Block>
S1_INLINE float32x4_t block_scales(const Block* b, int n) {
  uint64_t bits = 0;
  for (int i = 0; i < 4 && i < n; ++i) bits |= uint64_t(b[i].d) << (16 * i);
  return vcvt_f32_f16(vcreate_f16(bits));
}

// MXFP4's from the exponent bytes, likewise gathered in a general register:
// 2^(e - 128) as float bits, (e - 1) << 23, or for e < 2 the subnormal
// 0x00200000 << e (USHL by 32 or more gives 0).
S1_INLINE float32x4_t block_scales(const block_mxfp4* b, int n) {
  uint32_t bytes = 0;
  for (int i = 0; i < 4 && i < n; ++i) bytes |= uint32_t(b[i].e) << (8 * i);
  const uint32x4_t e = vmovl_u16(vget_low_u16(vmovl_u8(vreinterpret_u8_u32(vdup_n_u32(bytes)))));
  const uint32x4_t normal = vshlq_n_u32(vsubq_u32(e, vdupq_n_u32(1)), 23);
  const uint32x4_t subnormal = vshlq_u32(vdupq_n_u32(0x00200000), vreinterpretq_s32_u32(e));
  const uint32x4_t bits = vbslq_u32(vcgtq_u32(e, vdupq_n_u32(1)), normal, subnormal);
  // 0 from the n-th block on, as the f16 scales.
  const uint32x4_t lanes = {0, 1, 2, 3};
  return vreinterpretq_f32_u32(vandq_u32(bits, vcltq_u32(lanes, vdupq_n_u32(uint32_t(n < 0 ? 0 : n)))));
}

// A block's 32 values as signed bytes, elements 0-15 in lo, 16-31 in hi.
S1_INLINE void block_values(const block_q8_0& b, int8x16_t& lo, int8x16_t& hi) {
  lo = vld1q_s8(b.qs);
  hi = vld1q_s8(b.qs + 16);
}

// Low nibbles are elements 0-15, high nibbles 16-31.
S1_INLINE void nibbles(const uint8_t* qs, uint8x16_t& lo, uint8x16_t& hi) {
  const uint8x16_t packed = vld1q_u8(qs);
  lo = vandq_u8(packed, vdupq_n_u8(0x0f));
  hi = vshrq_n_u8(packed, 4);
}

S1_INLINE void block_values(const block_q4_0& b, int8x16_t& lo, int8x16_t& hi) {
  uint8x16_t l, h;
  nibbles(b.qs, l, h);
  lo = vsubq_s8(vreinterpretq_s8_u8(l), vdupq_n_s8(8));
  hi = vsubq_s8(vreinterpretq_s8_u8(h), vdupq_n_s8(8));
}

S1_INLINE void block_values(const block_mxfp4& b, int8x16_t& lo, int8x16_t& hi) {
  uint8x16_t l, h;
  nibbles(b.qs, l, h);
  const int8x16_t table = vld1q_s8(kMxfp4Values);
  lo = vqtbl1q_s8(table, l);
  hi = vqtbl1q_s8(table, h);
}

// Fifth bits, element j at bit j of qh: byte j of each half takes the qh byte
// holding its bit (TBL) and tests it; w = nibble - 16 where it is clear.
S1_INLINE void block_values(const block_q5_0& b, int8x16_t& lo, int8x16_t& hi) {
  uint8x16_t l, h;
  nibbles(b.qs, l, h);
  uint32_t bits;
  std::memcpy(&bits, b.qh, 4);
  const uint8x16_t qh = vreinterpretq_u8_u32(vdupq_n_u32(bits));
  const uint8x16_t bit = vreinterpretq_u8_u64(vdupq_n_u64(0x8040201008040201));
  const uint8x16_t set_lo = vtstq_u8(vqtbl1q_u8(qh, vcombine_u8(vdup_n_u8(0), vdup_n_u8(1))), bit);
  const uint8x16_t set_hi = vtstq_u8(vqtbl1q_u8(qh, vcombine_u8(vdup_n_u8(2), vdup_n_u8(3))), bit);
  const uint8x16_t sixteen = vdupq_n_u8(16);
  lo = vsubq_s8(vreinterpretq_s8_u8(l), vreinterpretq_s8_u8(vbicq_u8(sixteen, set_lo)));
  hi = vsubq_s8(vreinterpretq_s8_u8(h), vreinterpretq_s8_u8(vbicq_u8(sixteen, set_hi)));
}

// The format matmul_int8.h takes: a unit per block, eight blocks a group.
template <typename Block>
struct Block32Format {
  static constexpr int kUnitCols = QK;
  static constexpr int kStepScales = 1;
  static constexpr bool kMins = false;
  static constexpr size_t kGroupBytes = kGroupCols / QK * sizeof(Block);

  S1_INLINE static Head head(const uint8_t* group, int cols) {
    const auto* b = reinterpret_cast<const Block*>(group);
    Head h;
    h.scale[0] = block_scales(b, cols / QK);
    h.scale[1] = block_scales(b + 4, cols / QK - 4);
    return h;
  }

  // Blocks 4k..4k+3 of the group; zeros past the row's end (where the scales
  // and the activations are zero too), so that no byte past the row is read.
  S1_INLINE static void step(const uint8_t* group, int k, int cols, int8x16_t* w) {
    const auto* b = reinterpret_cast<const Block*>(group) + 4 * k;
    const int n = cols / QK - 4 * k;
    S1_UNROLL
    for (int i = 0; i < 4; ++i) {
      if (i < n) {
        block_values(b[i], w[2 * i], w[2 * i + 1]);
      } else {
        w[2 * i] = w[2 * i + 1] = vdupq_n_s8(0);
      }
    }
  }
};

template <class Dot>
void block32_rows(const WeightMatrix& w, const Activations& act, float* out, int64_t row_begin, int64_t row_end) {
  switch (w.type) {
    case DType::Q4_0: return int8_rows<Block32Format<block_q4_0>, Dot>(w, act, out, row_begin, row_end);
    case DType::Q5_0: return int8_rows<Block32Format<block_q5_0>, Dot>(w, act, out, row_begin, row_end);
    case DType::MXFP4: return int8_rows<Block32Format<block_mxfp4>, Dot>(w, act, out, row_begin, row_end);
    default: return int8_rows<Block32Format<block_q8_0>, Dot>(w, act, out, row_begin, row_end);
  }
}

}  // namespace
}  // namespace s1::neon
