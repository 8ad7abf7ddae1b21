#pragma once
// Q4_K / Q5_K / Q6_K weights: 256-element super-blocks (one per activation
// group) with small integer sub-block scales, unpacked to bytes with a float
// scale per sub-block (the scheme is in matmul_int8.h). Q4_K/Q5_K values stay
// unsigned (0..15, 0..31: they fit in int8) and their mins come in through the
// activations' sums, one FMA per step and token; Q6_K's -32 is subtracted from
// the weights, so it needs none. Compiled into matmul_superblock.cpp (widening
// multiplies) and matmul_dotprod.cpp (SDOT).
#include "tensor/neon/matmul_int8.h"

namespace s1::neon {
namespace {

// Four unsigned byte lanes from `bytes` as floats times d.
S1_INLINE float32x4_t scaled(uint16x4_t bytes, float d) { return vmulq_n_f32(vcvtq_f32_u32(vmovl_u16(bytes)), d); }

template <typename Block, bool FifthBit>
struct KFormat {  // Q4_K, Q5_K (FifthBit): units of 32, one per 6-bit scale and min
  static constexpr int kUnitCols = 32;
  static constexpr int kStepScales = 1;
  static constexpr bool kMins = true;
  static constexpr size_t kGroupBytes = sizeof(Block);

  // ggml's get_scale_min_k4 for all 8 sub-blocks at once. Of the 12 bytes
  // q0..q11: scales 0-3 and mins 0-3 are the low 6 bits of q0..q3 and q4..q7;
  // scales 4-7 the low nibbles of q8..q11 with the top bits of q0..q3 above,
  // mins 4-7 the high nibbles of q8..q11 with the top bits of q4..q7.
  S1_INLINE static Head head(const uint8_t* group, int) {
    const auto& b = *reinterpret_cast<const Block*>(group);
    const uint8x16_t q = vld1q_u8(b.scales);  // the 12 bytes and 4 of qh / qs behind them, inside the block
    const uint8x8_t q0_7 = vget_low_u8(q);
    const uint8x8_t q8_11 = vreinterpret_u8_u32(vdup_laneq_u32(vreinterpretq_u32_u8(q), 2));  // twice
    const uint8x8_t low = vand_u8(q0_7, vdup_n_u8(63));  // scales 0-3, mins 0-3
    // Lanes 0-3 keep the low nibbles of q8..q11, lanes 4-7 shift the high ones down.
    const uint8x8_t nibble = vand_u8(vshl_u8(q8_11, vcreate_s8(0xfcfcfcfc00000000)), vdup_n_u8(15));
    const uint8x8_t high = vorr_u8(nibble, vshl_n_u8(vshr_n_u8(q0_7, 6), 4));  // scales 4-7, mins 4-7
    const uint16x8_t scales = vmovl_u8(vreinterpret_u8_u32(vzip1_u32(vreinterpret_u32_u8(low), vreinterpret_u32_u8(high))));
    const uint16x8_t mins = vmovl_u8(vreinterpret_u8_u32(vzip2_u32(vreinterpret_u32_u8(low), vreinterpret_u32_u8(high))));
    uint32_t d_dmin;
    std::memcpy(&d_dmin, group, 4);  // d, dmin: the block starts with them
    const float32x4_t dd = vcvt_f32_f16(vcreate_f16(d_dmin));
    const float d = vgetq_lane_f32(dd, 0), dmin = vgetq_lane_f32(dd, 1);
    Head h;
    h.scale[0] = scaled(vget_low_u16(scales), d);
    h.scale[1] = scaled(vget_high_u16(scales), d);
    h.mins[0] = scaled(vget_low_u16(mins), -dmin);
    h.mins[1] = scaled(vget_high_u16(mins), -dmin);
    return h;
  }

  // Sub-blocks 4k..4k+3: the low then the high nibbles of qs[64k, 64k + 32),
  // then of qs[64k + 32, 64k + 64); for Q5_K bit c of qh[i] is the fifth bit
  // of value i of sub-block c.
  S1_INLINE static void step(const uint8_t* group, int k, int, int8x16_t* w) {
    const auto& b = *reinterpret_cast<const Block*>(group);
    const uint8x16_t low4 = vdupq_n_u8(0x0f);
    uint8x16_t v[4];
    S1_UNROLL
    for (int j = 0; j < 4; ++j) v[j] = vld1q_u8(b.qs + 64 * k + 16 * j);
    uint8x16_t u[8] = {vandq_u8(v[0], low4),   vandq_u8(v[1], low4),   vshrq_n_u8(v[0], 4), vshrq_n_u8(v[1], 4),
                       vandq_u8(v[2], low4),   vandq_u8(v[3], low4),   vshrq_n_u8(v[2], 4), vshrq_n_u8(v[3], 4)};
    if constexpr (FifthBit) {
      const uint8x16_t qh[2] = {vld1q_u8(b.qh), vld1q_u8(b.qh + 16)};
      S1_UNROLL
      for (int i = 0; i < 8; ++i) {
        const int c = 4 * k + i / 2;  // the sub-block; shifting by 4 - c moves its bit to bit 4
        u[i] = vorrq_u8(u[i], vandq_u8(vshlq_u8(qh[i % 2], vdupq_n_s8(int8_t(4 - c))), vdupq_n_u8(0x10)));
      }
    }
    S1_UNROLL
    for (int i = 0; i < 8; ++i) w[i] = vreinterpretq_s8_u8(u[i]);
  }
};

struct Q6KFormat {  // units of 16, one per int8 scale
  static constexpr int kUnitCols = 16;
  static constexpr int kStepScales = 2;
  static constexpr bool kMins = false;
  static constexpr size_t kGroupBytes = sizeof(block_q6_K);

  S1_INLINE static Head head(const uint8_t* group, int) {
    const auto& b = *reinterpret_cast<const block_q6_K*>(group);
    const float d = f16_scalar(b.d);
    const int8x16_t sc = vld1q_s8(b.scales);
    const int16x8_t lo = vmovl_s8(vget_low_s8(sc)), hi = vmovl_high_s8(sc);
    Head h;
    h.scale[0] = vmulq_n_f32(vcvtq_f32_s32(vmovl_s16(vget_low_s16(lo))), d);
    h.scale[1] = vmulq_n_f32(vcvtq_f32_s32(vmovl_high_s16(lo)), d);
    h.scale[2] = vmulq_n_f32(vcvtq_f32_s32(vmovl_s16(vget_low_s16(hi))), d);
    h.scale[3] = vmulq_n_f32(vcvtq_f32_s32(vmovl_high_s16(hi)), d);
    return h;
  }

  // Step k is half k of the super-block (ggml's layout): ql[64k, 64k + 64) in
  // two rows of 32 whose low nibbles are its first two chunks of 32 values and
  // high nibbles the last two; bit pairs 0-1, 2-3, 4-5, 6-7 of qh[32k, 32k + 32)
  // are the top two bits of the four chunks. Each value minus 32.
  S1_INLINE static void step(const uint8_t* group, int k, int, int8x16_t* w) {
    const auto& b = *reinterpret_cast<const block_q6_K*>(group);
    const uint8x16_t low4 = vdupq_n_u8(0x0f), top2 = vdupq_n_u8(0x30);
    S1_UNROLL
    for (int j = 0; j < 2; ++j) {  // the 16-byte halves of each row of 32
      const uint8x16_t l0 = vld1q_u8(b.ql + 64 * k + 16 * j), l1 = vld1q_u8(b.ql + 64 * k + 32 + 16 * j);
      const uint8x16_t h = vld1q_u8(b.qh + 32 * k + 16 * j);
      const uint8x16_t u[4] = {
          vorrq_u8(vandq_u8(l0, low4), vandq_u8(vshlq_n_u8(h, 4), top2)),
          vorrq_u8(vandq_u8(l1, low4), vandq_u8(vshlq_n_u8(h, 2), top2)),
          vorrq_u8(vshrq_n_u8(l0, 4), vandq_u8(h, top2)),
          vorrq_u8(vshrq_n_u8(l1, 4), vandq_u8(vshrq_n_u8(h, 2), top2)),
      };
      S1_UNROLL
      for (int c = 0; c < 4; ++c) w[2 * c + j] = vsubq_s8(vreinterpretq_s8_u8(u[c]), vdupq_n_s8(32));
    }
  }
};

template <class Dot>
void super_rows(const WeightMatrix& w, const Activations& act, float* out, int64_t row_begin, int64_t row_end) {
  switch (w.type) {
    case DType::Q4_K: return int8_rows<KFormat<block_q4_K, false>, Dot>(w, act, out, row_begin, row_end);
    case DType::Q5_K: return int8_rows<KFormat<block_q5_K, true>, Dot>(w, act, out, row_begin, row_end);
    default: return int8_rows<Q6KFormat, Dot>(w, act, out, row_begin, row_end);
  }
}

}  // namespace
}  // namespace s1::neon
