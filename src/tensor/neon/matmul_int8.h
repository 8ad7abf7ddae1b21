#pragma once
// What the integer families (matmul_block32.h: Q4_0 / Q5_0 / Q8_0 / MXFP4,
// matmul_superblock.h: Q4_K / Q5_K / Q6_K) share. These headers are compiled
// twice: with widening multiplies in matmul_block32.cpp / matmul_superblock.cpp
// (every AArch64 CPU) and with SDOT in matmul_dotprod.cpp (built for +dotprod).
// All of it sits in an unnamed namespace, so each file keeps its own copy built
// for its own target, and the linker cannot hand the SDOT build to the others.
//
// Activations are quantized to int8 in groups of 256 columns, with one scale
// per 32 columns for Q4_0/Q5_0/Q8_0 (as llama.cpp's q8_0) and one per group for
// the K-quants (as its q8_K), stored with the sums each Q4_K/Q5_K min multiplies.
// Weights go to signed bytes (Q4_0: q - 8, Q5_0: q - 16, Q8_0: q, MXFP4: the
// doubled E2M1 value, Q6_K: q - 32; Q4_K/Q5_K: q, their mins subtracted
// through the activation sums) 128 columns at a time (a step) in 8 registers,
// with one float scale per unit of 32 columns (16 for Q6_K): the block scale,
// or d times the sub-block scale.
// Signed times signed bytes need no offset correction, unlike x86's
// unsigned-times-signed products.
//
// Per step and token: the int8 dot product of each of 4 units as int32 lanes
// (2 SDOTs per unit of 32), the four vectors added pairwise into one whose
// lane u is unit u's sum (3 ADDPs), converted to float and multiplied-added
// with the unit scales times the token's scales (of those 4 units, a vector
// either way): one conversion and two float operations per 128 products, none
// of them horizontal.
//
// Up to kDecodeTokens tokens a row is unpacked in registers, a step at a time,
// and run against every token (the weight stream is the bound); with more, each
// row is unpacked once per block of kTokenBlock tokens into scratch and reloaded
// for each register tile of kDecodeTokens tokens.
#include <cstring>

#include "tensor/blocks.h"
#include "tensor/matmul_kernels.h"
#include "tensor/neon/simd.h"

namespace s1::neon {
namespace {

using namespace matmul_kernels;

constexpr int kStepCols = 128;
constexpr int kGroupSteps = kGroupCols / kStepCols;
constexpr int kTileTokens = kDecodeTokens;  // tokens per prefill register tile: as many as decode takes

// Int8 dot products of 16 or 32 byte pairs as int32 lanes: the lanes add up to
// the dot product (which products go to which lane differs between the two).
//
// Widening multiplies, on every AArch64 CPU: SMULL + SMLAL2 sum two products per
// int16 lane (|w| <= 128, |a| <= 127: at most 32512, no overflow), then SADDLP /
// SADALP add the pairs into int32 lanes.
struct WideningDot {
  S1_INLINE static int16x8_t pairs(int8x16_t w, int8x16_t a) {
    return vmlal_high_s8(vmull_s8(vget_low_s8(w), vget_low_s8(a)), w, a);
  }
  S1_INLINE static int32x4_t dot16(int8x16_t w, int8x16_t a) { return vpaddlq_s16(pairs(w, a)); }
  S1_INLINE static int32x4_t dot32(int8x16_t w0, int8x16_t w1, int8x16_t a0, int8x16_t a1) {
    return vpadalq_s16(dot16(w0, a0), pairs(w1, a1));
  }
};

#if defined(__ARM_FEATURE_DOTPROD)
// SDOT: four products summed into each int32 lane, 16 pairs an instruction.
struct SdotDot {
  S1_INLINE static int32x4_t dot16(int8x16_t w, int8x16_t a) { return vdotq_s32(vdupq_n_s32(0), w, a); }
  S1_INLINE static int32x4_t dot32(int8x16_t w0, int8x16_t w1, int8x16_t a0, int8x16_t a1) {
    return vdotq_s32(vdotq_s32(vdupq_n_s32(0), w0, a0), w1, a1);
  }
};
#endif

// A token's prepared group of 256 activations. A row's last group, for a
// Q*_0 row not a multiple of 256 columns long, is zero past the row's end.
struct ActGroup {
  int8_t q[kGroupCols];
  float sums[kGroupCols / 32];  // Q4_K/Q5_K: d * the sum of each 32 q (what their mins multiply)
  float d[kGroupCols / 32];     // the scale of each 32 q (the K-quants': all the same)
};
static_assert(sizeof(ActGroup) == 320 && sizeof(ActGroup) % 64 == 0);

// 16 activations times inv, rounded to nearest even (as x86's cvtps) and
// narrowed with saturation.
S1_INLINE int8x16_t quantize16(const float* x, float inv) {
  int32x4_t i[4];
  S1_UNROLL
  for (int k = 0; k < 4; ++k) i[k] = vcvtnq_s32_f32(vmulq_n_f32(vld1q_f32(x + 4 * k), inv));
  const int16x8_t lo = vcombine_s16(vqmovn_s32(i[0]), vqmovn_s32(i[1]));
  const int16x8_t hi = vcombine_s16(vqmovn_s32(i[2]), vqmovn_s32(i[3]));
  return vcombine_s8(vqmovn_s16(lo), vqmovn_s16(hi));
}

S1_INLINE float abs_max(const float* x, int n) {
  float32x4_t amax = vdupq_n_f32(0.0f);
  for (int i = 0; i < n; i += 4) amax = vmaxq_f32(amax, vabsq_f32(vld1q_f32(x + i)));
  return vmaxvq_f32(amax);
}

void int8_prepare(DType type, const float* x, int64_t cols, uint8_t* token, size_t group_stride) {
  const bool with_sums = type == DType::Q4_K || type == DType::Q5_K;
  const bool per_unit = type == DType::Q4_0 || type == DType::Q5_0 || type == DType::Q8_0 || type == DType::MXFP4;
  for (int64_t c0 = 0; c0 < cols; c0 += kGroupCols, x += kGroupCols) {
    auto* g = reinterpret_cast<ActGroup*>(token + c0 / kGroupCols * group_stride);
    const int n = cols - c0 < kGroupCols ? int(cols - c0) : kGroupCols;  // a multiple of 32
    const float group_max = per_unit ? 0.0f : abs_max(x, n);
    for (int u = 0; u < kGroupCols / 32; ++u) {
      const float m = 32 * u >= n ? 0.0f : per_unit ? abs_max(x + 32 * u, 32) : group_max;
      const float inv = m > 0 ? 127.0f / m : 0.0f;
      g->d[u] = m / 127.0f;
      int8x16_t q0 = vdupq_n_s8(0), q1 = q0;
      if (32 * u < n) {
        q0 = quantize16(x + 32 * u, inv);
        q1 = quantize16(x + 32 * u + 16, inv);
      }
      vst1q_s8(g->q + 32 * u, q0);
      vst1q_s8(g->q + 32 * u + 16, q1);
      if (with_sums) g->sums[u] = g->d[u] * float(vaddlvq_s8(q0) + vaddlvq_s8(q1));
    }
  }
}

S1_INLINE float f16_scalar(f16_bits h) { return vgetq_lane_f32(vcvt_f32_f16(vcreate_f16(h)), 0); }

// What the steps of a weight group share, per step k: the unit scales,
// scale[k * kStepScales + s] for units 4s..4s+3 of the step, and for
// Q4_K/Q5_K mins[k], -dmin times each unit's min. A format fills what it uses.
struct Head {
  float32x4_t scale[4];
  float32x4_t mins[2];
};

// Weight formats (matmul_block32.h, matmul_superblock.h) provide:
//   kUnitCols    columns per unit scale: 32, or 16 (Q6_K)
//   kStepScales  scale vectors per step: kStepCols / kUnitCols / 4
//   kMins        whether mins[] are used
//   kGroupBytes  weight bytes per 256 columns
//   head(group, cols)        the Head of a group of which the row has `cols` columns
//   step(group, k, cols, w)  step k of the group as 8 vectors of signed bytes

// Lane u: the dot product of unit u (w[2u..2u+1] for units of 32 columns, w[u]
// for 16) with the activations a.
template <class Dot, int UnitCols>
S1_INLINE int32x4_t units_dot(const int8x16_t* w, const int8_t* a) {
  int32x4_t d[4];
  S1_UNROLL
  for (int u = 0; u < 4; ++u) {
    if constexpr (UnitCols == 32) {
      d[u] = Dot::dot32(w[2 * u], w[2 * u + 1], vld1q_s8(a + 32 * u), vld1q_s8(a + 32 * u + 16));
    } else {
      d[u] = Dot::dot16(w[u], vld1q_s8(a + 16 * u));
    }
  }
  return vpaddq_s32(vpaddq_s32(d[0], d[1]), vpaddq_s32(d[2], d[3]));
}

// acc[t] += step k of a weight group . step k of token t's group, for NT
// tokens side by side from `act`.
template <class F, class Dot, int NT>
S1_INLINE void step_tokens(const int8x16_t* w, const Head& h, int k, const uint8_t* act, float32x4_t* acc) {
  constexpr int S = F::kStepScales;
  S1_UNROLL
  for (int t = 0; t < NT; ++t) {
    const ActGroup& a = reinterpret_cast<const ActGroup*>(act)[t];
    S1_UNROLL
    for (int s = 0; s < S; ++s) {
      const int32x4_t dot = units_dot<Dot, F::kUnitCols>(w + 8 / S * s, a.q + kStepCols * k + kStepCols / S * s);
      // Units of 32 take their own activation scales; Q6_K's units of 16 are a K-quant's, all one.
      const float32x4_t act_scale = F::kUnitCols == 32 ? vld1q_f32(a.d + 4 * k) : vdupq_n_f32(a.d[0]);
      acc[t] = vfmaq_f32(acc[t], vcvtq_f32_s32(dot), vmulq_f32(h.scale[S * k + s], act_scale));
    }
    if constexpr (F::kMins) acc[t] = vfmaq_f32(acc[t], h.mins[k], vld1q_f32(a.sums + 4 * k));
  }
}

// Decode: the weights straight from the row, prefetched kPrefetchBytes ahead
// when several tokens slow the pass down (matmul_kernels.h).
template <class F, bool Prefetch>
struct PackedRow {
  const uint8_t* row;
  size_t ahead;
  S1_INLINE Head head(int64_t g, int cols) const {
    const uint8_t* group = row + g * F::kGroupBytes;
    if constexpr (Prefetch) prefetch_span<F::kGroupBytes>(group + ahead);
    return F::head(group, cols);
  }
  S1_INLINE void step(int64_t g, int k, int cols, int8x16_t* w) const { F::step(row + g * F::kGroupBytes, k, cols, w); }
};

// Prefill: a row's groups as unpack_row leaves them in scratch.
struct UnpackedGroup {
  int8_t w[kGroupSteps][kStepCols];
  float scale[4][4];
  float mins[kGroupSteps][4];
};

template <class F>
void unpack_row(const uint8_t* row, int64_t cols, UnpackedGroup* dst) {
  const PackedRow<F, false> src{row, 0};
  for (int64_t g = 0; g * kGroupCols < cols; ++g, ++dst) {
    const int n = cols - g * kGroupCols < kGroupCols ? int(cols - g * kGroupCols) : kGroupCols;
    const Head h = src.head(g, n);
    S1_UNROLL
    for (int k = 0; k < kGroupSteps; ++k) {
      if (k * kStepCols >= n) break;
      int8x16_t w[8];
      src.step(g, k, n, w);
      S1_UNROLL
      for (int i = 0; i < 8; ++i) vst1q_s8(dst->w[k] + 16 * i, w[i]);
      S1_UNROLL
      for (int s = 0; s < F::kStepScales; ++s) vst1q_f32(dst->scale[F::kStepScales * k + s], h.scale[F::kStepScales * k + s]);
      if constexpr (F::kMins) vst1q_f32(dst->mins[k], h.mins[k]);
    }
  }
}

template <class F>
struct UnpackedRow {
  const UnpackedGroup* groups;
  S1_INLINE Head head(int64_t g, int) const {
    Head h;
    S1_UNROLL
    for (int i = 0; i < kGroupSteps * F::kStepScales; ++i) h.scale[i] = vld1q_f32(groups[g].scale[i]);
    if constexpr (F::kMins)
      S1_UNROLL
      for (int k = 0; k < kGroupSteps; ++k) h.mins[k] = vld1q_f32(groups[g].mins[k]);
    return h;
  }
  S1_INLINE void step(int64_t g, int k, int, int8x16_t* w) const {
    S1_UNROLL
    for (int i = 0; i < 8; ++i) w[i] = vld1q_s8(groups[g].w[k] + 16 * i);
  }
};

// out[t * out_stride] = the row (from `src`) . token t, for NT tokens.
template <class F, class Dot, int NT, class Source>
void row_dot(const Source& src, int64_t cols, const uint8_t* act, size_t group_stride, float* out,
             int64_t out_stride) {
  float32x4_t acc[NT];
  S1_UNROLL
  for (int t = 0; t < NT; ++t) acc[t] = vdupq_n_f32(0.0f);
  for (int64_t g = 0; g * kGroupCols < cols; ++g) {
    const int n = cols - g * kGroupCols < kGroupCols ? int(cols - g * kGroupCols) : kGroupCols;
    const Head h = src.head(g, n);
    S1_UNROLL
    for (int k = 0; k < kGroupSteps; ++k) {
      if (k * kStepCols >= n) break;
      int8x16_t w[8];
      src.step(g, k, n, w);
      step_tokens<F, Dot, NT>(w, h, k, act + g * group_stride, acc);
    }
  }
  S1_UNROLL
  for (int t = 0; t < NT; ++t) out[t * out_stride] = vaddvq_f32(acc[t]);
}

template <class F, class Dot>
void int8_rows(const WeightMatrix& w, const Activations& act, float* out, int64_t row_begin, int64_t row_end) {
  if (act.n_tokens <= kDecodeTokens) {
    const size_t ahead = prefetch_distance(w);
    auto decode = [&](auto n_tokens) {
      for (int64_t r = row_begin; r < row_end; ++r)
        row_dot<F, Dot, n_tokens()>(PackedRow<F, (n_tokens() > 1)>{w.data + r * w.row_stride, ahead}, w.cols,
                                    act.data, act.group_stride, out + r, w.rows);
    };
    return with_count<kDecodeTokens>(int(act.n_tokens), decode);
  }
  const int64_t n_groups = (w.cols + kGroupCols - 1) / kGroupCols;
  auto* unpacked = reinterpret_cast<UnpackedGroup*>(scratch(1, size_t(n_groups) * sizeof(UnpackedGroup)));
  const UnpackedRow<F> src{unpacked};
  for (int64_t tb = 0; tb < act.n_tokens; tb += kTokenBlock) {
    const int64_t n_block = act.n_tokens - tb < kTokenBlock ? act.n_tokens - tb : kTokenBlock;
    for (int64_t r = row_begin; r < row_end; ++r) {
      unpack_row<F>(w.data + r * w.row_stride, w.cols, unpacked);
      int64_t t = 0;
      for (; t + kTileTokens <= n_block; t += kTileTokens)
        row_dot<F, Dot, kTileTokens>(src, w.cols, act.data + (tb + t) * sizeof(ActGroup), act.group_stride,
                                     out + (tb + t) * w.rows + r, w.rows);
      with_count<kTileTokens - 1>(int(n_block - t), [&](auto n) {
        row_dot<F, Dot, n()>(src, w.cols, act.data + (tb + t) * sizeof(ActGroup), act.group_stride,
                             out + (tb + t) * w.rows + r, w.rows);
      });
    }
  }
}

}  // namespace
}  // namespace s1::neon
