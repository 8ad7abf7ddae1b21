// Scalar reference quantizers and dequantizers. They follow ggml-quants.c step
// by step (same float operations in the same order) because a GGUF we write
// must hold the bytes llama.cpp would write, and a row we read must give the
// floats ggml gives.
#include "tensor/quant.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "tensor/blocks.h"
#include "util/error.h"

// ggml builds its quantizers without fusing a*b+c into FMA; the scale searches
// compare near-equal errors, so a fused rounding flips choices and bytes.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace s1 {
namespace {

constexpr float kGroupMaxEps = 1e-15f;  // below this a group counts as all zero

// Round to nearest, ties to even, by letting the float adder do the rounding
// (ggml's nearest_int; valid for |f| < 2^22).
inline int nearest_int(float f) {
  float shifted = f + 12582912.f;  // 1.5 * 2^23
  int32_t bits;
  std::memcpy(&bits, &shifted, 4);
  return (bits & 0x007fffff) - 0x00400000;
}

// ---------------------------------------------------------------- dequantize

void dequantize_q8_0(const block_q8_0* blocks, float* y, int64_t n_blocks) {
  for (int64_t i = 0; i < n_blocks; ++i, y += QK) {
    const float d = f16_to_f32(blocks[i].d);
    for (int j = 0; j < QK; ++j) y[j] = blocks[i].qs[j] * d;
  }
}

void dequantize_q4_0(const block_q4_0* blocks, float* y, int64_t n_blocks) {
  for (int64_t i = 0; i < n_blocks; ++i, y += QK) {
    const float d = f16_to_f32(blocks[i].d);
    for (int j = 0; j < QK / 2; ++j) {
      y[j] = ((blocks[i].qs[j] & 0x0f) - 8) * d;
      y[j + QK / 2] = ((blocks[i].qs[j] >> 4) - 8) * d;
    }
  }
}

void dequantize_q5_0(const block_q5_0* blocks, float* y, int64_t n_blocks) {
  for (int64_t i = 0; i < n_blocks; ++i, y += QK) {
    const float d = f16_to_f32(blocks[i].d);
    uint32_t qh;
    std::memcpy(&qh, blocks[i].qh, 4);
    for (int j = 0; j < QK / 2; ++j) {
      const int high0 = ((qh >> j) << 4) & 0x10;
      const int high1 = (qh >> (j + 12)) & 0x10;
      y[j] = (((blocks[i].qs[j] & 0x0f) | high0) - 16) * d;
      y[j + QK / 2] = (((blocks[i].qs[j] >> 4) | high1) - 16) * d;
    }
  }
}

void dequantize_mxfp4(const block_mxfp4* blocks, float* y, int64_t n_blocks) {
  for (int64_t i = 0; i < n_blocks; ++i, y += QK) {
    const float d = e8m0_half(blocks[i].e);
    for (int j = 0; j < QK / 2; ++j) {
      y[j] = kMxfp4Values[blocks[i].qs[j] & 0x0f] * d;
      y[j + QK / 2] = kMxfp4Values[blocks[i].qs[j] >> 4] * d;
    }
  }
}

// The 6-bit scale and min of sub-block j (0..7) from the 12 packed bytes:
// sub-blocks 0-3 keep theirs in the low 6 bits of bytes 0-3 (scale) and 4-7
// (min); sub-blocks 4-7 split theirs between a nibble of bytes 8-11 and the top
// two bits of bytes 0-7.
inline void get_scale_min_k4(int j, const uint8_t* q, uint8_t& scale, uint8_t& min) {
  if (j < 4) {
    scale = q[j] & 63;
    min = q[j + 4] & 63;
  } else {
    scale = (q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4);
    min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

inline void set_scale_min_k4(int j, uint8_t scale, uint8_t min, uint8_t* q) {
  if (j < 4) {
    q[j] = scale;
    q[j + 4] = min;
  } else {
    q[j + 4] = (scale & 0x0f) | ((min & 0x0f) << 4);
    q[j - 4] |= (scale >> 4) << 6;
    q[j] |= (min >> 4) << 6;
  }
}

void dequantize_q4_K(const block_q4_K* blocks, float* y, int64_t n_blocks) {
  for (int64_t i = 0; i < n_blocks; ++i) {
    const block_q4_K& b = blocks[i];
    const float d = f16_to_f32(b.d);
    const float dmin = f16_to_f32(b.dmin);
    const uint8_t* q = b.qs;
    for (int sub = 0; sub < 8; sub += 2, q += 32) {  // 64 elements: low nibbles, then high nibbles
      uint8_t sc, m;
      get_scale_min_k4(sub, b.scales, sc, m);
      const float d1 = d * sc, m1 = dmin * m;
      get_scale_min_k4(sub + 1, b.scales, sc, m);
      const float d2 = d * sc, m2 = dmin * m;
      for (int l = 0; l < 32; ++l) *y++ = d1 * (q[l] & 0x0f) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * (q[l] >> 4) - m2;
    }
  }
}

void dequantize_q5_K(const block_q5_K* blocks, float* y, int64_t n_blocks) {
  for (int64_t i = 0; i < n_blocks; ++i) {
    const block_q5_K& b = blocks[i];
    const float d = f16_to_f32(b.d);
    const float dmin = f16_to_f32(b.dmin);
    const uint8_t* ql = b.qs;
    uint8_t bit1 = 1, bit2 = 2;  // fifth bits of the two 32-element halves sit in bits 2k, 2k+1 of qh
    for (int sub = 0; sub < 8; sub += 2, ql += 32, bit1 <<= 2, bit2 <<= 2) {
      uint8_t sc, m;
      get_scale_min_k4(sub, b.scales, sc, m);
      const float d1 = d * sc, m1 = dmin * m;
      get_scale_min_k4(sub + 1, b.scales, sc, m);
      const float d2 = d * sc, m2 = dmin * m;
      for (int l = 0; l < 32; ++l) *y++ = d1 * ((ql[l] & 0x0f) + (b.qh[l] & bit1 ? 16 : 0)) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * ((ql[l] >> 4) + (b.qh[l] & bit2 ? 16 : 0)) - m2;
    }
  }
}

void dequantize_q6_K(const block_q6_K* blocks, float* y, int64_t n_blocks) {
  for (int64_t i = 0; i < n_blocks; ++i) {
    const block_q6_K& b = blocks[i];
    const float d = f16_to_f32(b.d);
    const uint8_t* ql = b.ql;
    const uint8_t* qh = b.qh;
    const int8_t* sc = b.scales;
    // Each 128-element half: ql[0..64) holds 4 low bits of elements l, l+32 (low
    // nibble) and l+64, l+96 (high nibble); qh[0..32) their top 2 bits.
    for (int half = 0; half < 2; ++half, y += 128, ql += 64, qh += 32, sc += 8) {
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = d * sc[is] * q1;
        y[l + 32] = d * sc[is + 2] * q2;
        y[l + 64] = d * sc[is + 4] * q3;
        y[l + 96] = d * sc[is + 6] * q4;
      }
    }
  }
}

// ------------------------------------------------------- scale searches (ggml)

// Symmetric levels L[i] in [0, 2*nmax) (stored with +nmax) and the scale that
// minimizes sum w*(x - scale*(L - nmax))^2, trying 19 candidate scales around
// -nmax/max. Weights default to x^2 (ggml's rmse_type 1).
float make_qx_quants(int n, int nmax, const float* x, int8_t* L, const float* qw) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    std::fill(L, L + n, int8_t(0));
    return 0.f;
  }
  auto weight = [&](int i) { return qw ? qw[i] : x[i] * x[i]; };
  auto level = [&](float iscale, int i) { return std::max(-nmax, std::min(nmax - 1, nearest_int(iscale * x[i]))); };

  float iscale = -nmax / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = level(iscale, i);
    L[i] = int8_t(l + nmax);
    const float w = weight(i);
    sumlx += w * x[i] * l;
    suml2 += w * l * l;
  }
  float scale = suml2 ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int step = -9; step <= 9; ++step) {
    if (step == 0) continue;
    iscale = -(nmax + 0.1f * step) / max;
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = level(iscale, i);
      const float w = weight(i);
      sumlx += w * x[i] * l;
      suml2 += w * l * l;
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i) L[i] = int8_t(nmax + level(iscale, i));
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

// Asymmetric levels L[i] in [0, nmax] with x ~ scale*L - the_min, searching
// nstep+1 inverse scales (rmin + rdelta*k + nmax)/(max - min) and refitting
// scale and min by weighted least squares for each (ggml's make_qkx2/3_quants
// with squared error). Returns the scale; *the_min is stored negated (>= 0).
float make_qkx_quants(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* the_min,
                      float rmin, float rdelta, int nstep) {
  float min = x[0], max = x[0];
  float sum_w = weights[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    const float w = weights[i];
    sum_w += w;
    sum_x += w * x[i];
  }
  if (min > 0) min = 0;
  if (max <= min) {
    std::fill(L, L + n, uint8_t(0));
    *the_min = -min;
    return 0.f;
  }
  float iscale = nmax / (max - min);
  float scale = 1 / iscale;
  float best_error = 0;
  for (int i = 0; i < n; ++i) {
    L[i] = uint8_t(std::max(0, std::min(nmax, nearest_int(iscale * (x[i] - min)))));
    float diff = scale * L[i] + min - x[i];
    best_error += weights[i] * (diff * diff);
  }
  uint8_t Laux[QK_K];
  for (int step = 0; step <= nstep; ++step) {
    iscale = (rmin + rdelta * step + nmax) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::max(0, std::min(nmax, nearest_int(iscale * (x[i] - min))));
      Laux[i] = uint8_t(l);
      const float w = weights[i];
      sum_l += w * l;
      sum_l2 += w * l * l;
      sum_xl += w * l * x[i];
    }
    const float D = sum_w * sum_l2 - sum_l * sum_l;
    if (D <= 0) continue;
    float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
    float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
    if (this_min > 0) {
      this_min = 0;
      this_scale = sum_xl / sum_l2;
    }
    float error = 0;
    for (int i = 0; i < n; ++i) {
      const float diff = this_scale * Laux[i] + this_min - x[i];
      error += weights[i] * (diff * diff);
    }
    if (error < best_error) {
      std::copy(Laux, Laux + n, L);
      best_error = error;
      scale = this_scale;
      min = this_min;
    }
  }
  *the_min = -min;
  return scale;
}

// Quantizes n non-negative values (sub-block scales or mins) to L in [0, nmax]
// with one shared scale, minimizing the weighted error (ggml's make_qp_quants).
float make_qp_quants(int n, int nmax, const float* x, uint8_t* L, const float* weights) {
  float max = 0;
  for (int i = 0; i < n; ++i) max = std::max(max, x[i]);
  if (!max) {
    std::fill(L, L + n, uint8_t(0));
    return 0.f;
  }
  float iscale = nmax / max;
  for (int i = 0; i < n; ++i) L[i] = uint8_t(nearest_int(iscale * x[i]));
  float scale = 1 / iscale;
  float best_mse = 0;
  for (int i = 0; i < n; ++i) {
    const float diff = x[i] - scale * L[i];
    best_mse += weights[i] * diff * diff;
  }
  for (int step = -4; step <= 4; ++step) {
    if (step == 0) continue;
    const float iscale_step = (0.1f * step + nmax) / max;
    const float scale_step = 1 / iscale_step;
    float mse = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::min(nmax, nearest_int(iscale_step * x[i]));
      const float diff = x[i] - scale_step * l;
      mse += weights[i] * diff * diff;
    }
    if (mse < best_mse) {
      best_mse = mse;
      iscale = iscale_step;
    }
  }
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = std::min(nmax, nearest_int(iscale * x[i]));
    L[i] = uint8_t(l);
    const float w = weights[i];
    sumlx += w * x[i] * l;
    suml2 += w * l * l;
  }
  // Coordinate descent: move single levels while that improves the fit.
  for (int pass = 0; pass < 5; ++pass) {
    int n_changed = 0;
    for (int i = 0; i < n; ++i) {
      const float w = weights[i];
      float slx = sumlx - w * x[i] * L[i];
      float sl2 = suml2 - w * L[i] * L[i];
      if (slx > 0 && sl2 > 0) {
        const int new_l = std::min(nmax, nearest_int(x[i] * sl2 / slx));
        if (new_l != L[i]) {
          slx += w * x[i] * new_l;
          sl2 += w * new_l * new_l;
          if (slx * slx * suml2 > sumlx * sumlx * sl2) {
            L[i] = uint8_t(new_l);
            sumlx = slx;
            suml2 = sl2;
            ++n_changed;
          }
        }
      }
    }
    if (!n_changed) break;
  }
  return sumlx / suml2;
}

// ------------------------------------------------------------ quantize *_0

// The element of largest magnitude, with its sign.
float signed_absmax(const float* x, int n) {
  float amax = 0, max = 0;
  for (int j = 0; j < n; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

float mean_square(const float* x, int64_t n) {
  float sum_x2 = 0;
  for (int64_t j = 0; j < n; ++j) sum_x2 += x[j] * x[j];
  return sum_x2 / n;
}

// Importance-weighted levels of one 32-element block for Q4_0 (nmax 8) or Q5_0
// (nmax 16), as ggml's quantize_row_q{4,5}_0_impl; returns the scale.
float weighted_block_levels(const float* x, const float* importance, float sigma2, int nmax, int8_t* L) {
  float weight[QK];
  for (int j = 0; j < QK; ++j) weight[j] = importance[j] * std::sqrt(sigma2 + x[j] * x[j]);
  return make_qx_quants(QK, nmax, x, L, weight);
}

void quantize_q8_0(const float* x, block_q8_0* y, int64_t n_blocks) {
  for (int64_t i = 0; i < n_blocks; ++i, x += QK) {
    float amax = 0;
    for (int j = 0; j < QK; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127;
    const float id = d ? 1.0f / d : 0.0f;
    y[i].d = f32_to_f16(d);
    for (int j = 0; j < QK; ++j) y[i].qs[j] = int8_t(std::round(x[j] * id));
  }
}

// The levels 0..2*half-1 (value + half) of one 32-block and their scale:
// importance-weighted when an importance matrix is given, else from the
// signed absolute maximum (the value of largest magnitude maps to -half).
float block_levels(const float* x, const float* importance, float sigma2, int half, int8_t* L) {
  if (importance) return weighted_block_levels(x, importance, sigma2, half, L);
  const float d = signed_absmax(x, QK) / float(-half);
  const float id = d ? 1.0f / d : 0.0f;
  for (int j = 0; j < QK; ++j) L[j] = int8_t(std::min(2 * half - 1, int(int8_t(x[j] * id + float(half) + 0.5f))));
  return d;
}

void quantize_q4_0(const float* x, block_q4_0* y, int64_t n, const float* importance) {
  const float sigma2 = importance ? mean_square(x, n) : 0.f;
  for (int64_t i = 0; i < n / QK; ++i, x += QK) {
    int8_t L[QK];  // levels 0..15 (value + 8)
    y[i].d = f32_to_f16(block_levels(x, importance ? importance + i * QK : nullptr, sigma2, 8, L));
    for (int j = 0; j < QK / 2; ++j) y[i].qs[j] = uint8_t(L[j] | (L[j + QK / 2] << 4));
  }
}

void quantize_q5_0(const float* x, block_q5_0* y, int64_t n, const float* importance) {
  const float sigma2 = importance ? mean_square(x, n) : 0.f;
  for (int64_t i = 0; i < n / QK; ++i, x += QK) {
    int8_t L[QK];  // levels 0..31 (value + 16)
    y[i].d = f32_to_f16(block_levels(x, importance ? importance + i * QK : nullptr, sigma2, 16, L));
    uint32_t qh = 0;
    for (int j = 0; j < QK / 2; ++j) {
      y[i].qs[j] = uint8_t((L[j] & 0x0f) | ((L[j + QK / 2] & 0x0f) << 4));
      qh |= uint32_t((L[j] & 0x10) >> 4) << j;
      qh |= uint32_t((L[j + QK / 2] & 0x10) >> 4) << (j + QK / 2);
    }
    std::memcpy(y[i].qh, &qh, 4);
  }
}

// The code whose value times d is nearest x; on a tie the lower code (so +0,
// never -0), as ggml's best_index_mxfp4.
uint8_t nearest_mxfp4(float x, float d) {
  uint8_t best = 0;
  float best_err = std::fabs(kMxfp4Values[0] * d - x);
  for (uint8_t i = 1; i < 16; ++i) {
    const float err = std::fabs(kMxfp4Values[i] * d - x);
    if (err < best_err) {
      best = i;
      best_err = err;
    }
  }
  return best;
}

// ggml's quantize_row_mxfp4_ref: the scale is the block's largest magnitude
// rounded down to a power of two, over 4 (the largest E2M1 value is 6 = 1.5 *
// 4, so the top binade lands on the codes 4 and 6); each value takes the
// nearest code. There is no importance-weighted search.
void quantize_mxfp4(const float* x, block_mxfp4* y, int64_t n_blocks) {
  for (int64_t i = 0; i < n_blocks; ++i, x += QK) {
    float amax = 0;
    for (int j = 0; j < QK; ++j) amax = std::max(amax, std::fabs(x[j]));
    // ggml converts the float exponent straight to uint8_t; an amax below
    // 2^-125 makes it negative, which x86 wraps modulo 256: so do we (those
    // blocks decode to zeros either way).
    const uint8_t e = amax > 0 ? uint8_t(int(std::floor(std::log2(amax)) - 2 + 127)) : 0;
    const float d = e8m0_half(e);
    y[i].e = e;
    for (int j = 0; j < QK / 2; ++j)
      y[i].qs[j] = uint8_t(nearest_mxfp4(x[j], d) | (nearest_mxfp4(x[j + QK / 2], d) << 4));
  }
}

// ------------------------------------------------------------ quantize K

// One super-block of Q4_K (nmax 15) or Q5_K (nmax 31): finds the 8 sub-block
// scales and mins, packs them into `scales` with their f16 super-scales, and
// returns in L the levels requantized against the packed (rounded) values.
// Without importance this is ggml's quantize_row_q{4,5}_K_ref, with it the _impl.
void quantize_k_superblock(const float* x, const float* importance, int nmax, f16_bits& d, f16_bits& dmin,
                           uint8_t* scales, uint8_t* L) {
  float sub_scales[8], sub_mins[8], weights[32];
  uint8_t Ls[8], Lm[8];
  std::memset(scales, 0, K_SCALE_SIZE);
  if (importance) {
    const float sigma2 = 2 * mean_square(x, QK_K);
    float sum_weights[8];
    for (int j = 0; j < 8; ++j) {
      for (int l = 0; l < 32; ++l)
        weights[l] = importance[32 * j + l] * std::sqrt(sigma2 + x[32 * j + l] * x[32 * j + l]);
      float sum_w = 0;
      for (int l = 0; l < 32; ++l) sum_w += weights[l];
      sum_weights[j] = sum_w;
      sub_scales[j] = make_qkx_quants(32, nmax, x + 32 * j, weights, L + 32 * j, &sub_mins[j], -0.9f, 0.05f, 36);
    }
    d = f32_to_f16(make_qp_quants(8, 63, sub_scales, Ls, sum_weights));
    dmin = f32_to_f16(make_qp_quants(8, 63, sub_mins, Lm, sum_weights));
  } else {
    // ggml's reference search differs per type in its range of trial scales.
    const float rmin = nmax == 15 ? -1.f : -0.5f;
    const int nstep = nmax == 15 ? 20 : 15;
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < 8; ++j) {
      float sum_x2 = 0;
      for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
      const float av_x = std::sqrt(sum_x2 / 32);
      for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(x[32 * j + l]);
      sub_scales[j] = make_qkx_quants(32, nmax, x + 32 * j, weights, L + 32 * j, &sub_mins[j], rmin, 0.1f, nstep);
      max_scale = std::max(max_scale, sub_scales[j]);
      max_min = std::max(max_min, sub_mins[j]);
    }
    const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    for (int j = 0; j < 8; ++j) {
      Ls[j] = std::min<uint8_t>(63, uint8_t(nearest_int(inv_scale * sub_scales[j])));
      Lm[j] = std::min<uint8_t>(63, uint8_t(nearest_int(inv_min * sub_mins[j])));
    }
    d = f32_to_f16(max_scale / 63.f);
    dmin = f32_to_f16(max_min / 63.f);
  }
  for (int j = 0; j < 8; ++j) set_scale_min_k4(j, std::min<uint8_t>(63, Ls[j]), std::min<uint8_t>(63, Lm[j]), scales);

  for (int j = 0; j < 8; ++j) {
    uint8_t sc, m;
    get_scale_min_k4(j, scales, sc, m);
    const float dj = f16_to_f32(d) * sc;
    if (!dj) continue;
    const float mj = f16_to_f32(dmin) * m;
    for (int l = 0; l < 32; ++l)
      L[32 * j + l] = uint8_t(std::max(0, std::min(nmax, nearest_int((x[32 * j + l] + mj) / dj))));
  }
}

void quantize_q4_K(const float* x, block_q4_K* y, int64_t n_blocks, const float* importance) {
  for (int64_t i = 0; i < n_blocks; ++i, x += QK_K) {
    uint8_t L[QK_K];
    quantize_k_superblock(x, importance ? importance + i * QK_K : nullptr, 15, y[i].d, y[i].dmin, y[i].scales, L);
    for (int j = 0; j < QK_K; j += 64)  // 64 elements -> 32 bytes: low nibble j+l, high nibble j+l+32
      for (int l = 0; l < 32; ++l) y[i].qs[j / 2 + l] = uint8_t(L[j + l] | (L[j + l + 32] << 4));
  }
}

void quantize_q5_K(const float* x, block_q5_K* y, int64_t n_blocks, const float* importance) {
  for (int64_t i = 0; i < n_blocks; ++i, x += QK_K) {
    uint8_t L[QK_K];
    quantize_k_superblock(x, importance ? importance + i * QK_K : nullptr, 31, y[i].d, y[i].dmin, y[i].scales, L);
    std::memset(y[i].qh, 0, sizeof y[i].qh);
    uint8_t bit1 = 1, bit2 = 2;
    for (int j = 0; j < QK_K; j += 64, bit1 <<= 2, bit2 <<= 2) {
      for (int l = 0; l < 32; ++l) {
        int l1 = L[j + l], l2 = L[j + l + 32];
        if (l1 > 15) {
          l1 -= 16;
          y[i].qh[l] |= bit1;
        }
        if (l2 > 15) {
          l2 -= 16;
          y[i].qh[l] |= bit2;
        }
        y[i].qs[j / 2 + l] = uint8_t(l1 | (l2 << 4));
      }
    }
  }
}

void quantize_q6_K(const float* x, block_q6_K* y, int64_t n_blocks, const float* importance) {
  for (int64_t i = 0; i < n_blocks; ++i, x += QK_K) {
    int8_t L[QK_K];  // levels 0..63 (value + 32)
    float scales[QK_K / 16];
    float max_scale = 0, max_abs_scale = 0;
    for (int ib = 0; ib < QK_K / 16; ++ib) {
      const float* qw = importance ? importance + i * QK_K + 16 * ib : nullptr;
      scales[ib] = make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib, qw);
      if (std::fabs(scales[ib]) > max_abs_scale) {
        max_abs_scale = std::fabs(scales[ib]);
        max_scale = scales[ib];
      }
    }
    block_q6_K& b = y[i];
    if (max_abs_scale < kGroupMaxEps) {
      std::memset(&b, 0, sizeof b);
      continue;
    }
    const float iscale = -128.f / max_scale;
    b.d = f32_to_f16(1 / iscale);
    for (int ib = 0; ib < QK_K / 16; ++ib) b.scales[ib] = int8_t(std::min(127, nearest_int(iscale * scales[ib])));
    for (int j = 0; j < QK_K / 16; ++j) {
      const float d = f16_to_f32(b.d) * b.scales[j];
      if (!d) continue;
      for (int l = 0; l < 16; ++l)
        L[16 * j + l] = int8_t(std::max(-32, std::min(31, nearest_int(x[16 * j + l] / d))) + 32);
    }
    for (int half = 0; half < 2; ++half) {
      const int8_t* Lh = L + 128 * half;
      uint8_t* ql = b.ql + 64 * half;
      uint8_t* qh = b.qh + 32 * half;
      for (int l = 0; l < 32; ++l) {
        ql[l] = uint8_t((Lh[l] & 0x0f) | ((Lh[l + 64] & 0x0f) << 4));
        ql[l + 32] = uint8_t((Lh[l + 32] & 0x0f) | ((Lh[l + 96] & 0x0f) << 4));
        qh[l] = uint8_t((Lh[l] >> 4) | ((Lh[l + 32] >> 4) << 2) | ((Lh[l + 64] >> 4) << 4) | ((Lh[l + 96] >> 4) << 6));
      }
    }
  }
}

void check_row(DType type, int64_t n) {
  if (!quant_supported(type)) fail("quantization: type {} is not supported", dtype_name(type));
  const int64_t block = traits(type).block_elems;
  if (n < 0 || n % block != 0)
    fail("quantization: a {} row needs a multiple of {} elements, got {}", dtype_name(type), block, n);
}

}  // namespace

bool quant_supported(DType type) {
  switch (type) {
    case DType::F32: case DType::F16: case DType::BF16: case DType::Q8_0: case DType::Q4_0:
    case DType::Q5_0: case DType::Q4_K: case DType::Q5_K: case DType::Q6_K: case DType::MXFP4:
      return true;
    default:
      return false;
  }
}

void dequantize_row(DType type, const uint8_t* src, float* dst, int64_t n) {
  check_row(type, n);
  const int64_t n_blocks = n / traits(type).block_elems;
  switch (type) {
    case DType::F32:
      std::memcpy(dst, src, size_t(n) * 4);
      break;
    case DType::F16:
      for (int64_t i = 0; i < n; ++i) {
        f16_bits h;
        std::memcpy(&h, src + 2 * i, 2);
        dst[i] = f16_to_f32(h);
      }
      break;
    case DType::BF16:
      for (int64_t i = 0; i < n; ++i) {
        bf16_bits h;
        std::memcpy(&h, src + 2 * i, 2);
        dst[i] = bf16_to_f32(h);
      }
      break;
    case DType::Q8_0: dequantize_q8_0(reinterpret_cast<const block_q8_0*>(src), dst, n_blocks); break;
    case DType::Q4_0: dequantize_q4_0(reinterpret_cast<const block_q4_0*>(src), dst, n_blocks); break;
    case DType::Q5_0: dequantize_q5_0(reinterpret_cast<const block_q5_0*>(src), dst, n_blocks); break;
    case DType::Q4_K: dequantize_q4_K(reinterpret_cast<const block_q4_K*>(src), dst, n_blocks); break;
    case DType::Q5_K: dequantize_q5_K(reinterpret_cast<const block_q5_K*>(src), dst, n_blocks); break;
    case DType::Q6_K: dequantize_q6_K(reinterpret_cast<const block_q6_K*>(src), dst, n_blocks); break;
    case DType::MXFP4: dequantize_mxfp4(reinterpret_cast<const block_mxfp4*>(src), dst, n_blocks); break;
    default: break;  // rejected by check_row
  }
}

void quantize_row(DType type, const float* src, uint8_t* dst, int64_t n, const float* importance) {
  check_row(type, n);
  const int64_t n_blocks = n / traits(type).block_elems;
  switch (type) {
    case DType::F32:
      std::memcpy(dst, src, size_t(n) * 4);
      break;
    case DType::F16:
      for (int64_t i = 0; i < n; ++i) {
        const f16_bits h = f32_to_f16(src[i]);
        std::memcpy(dst + 2 * i, &h, 2);
      }
      break;
    case DType::BF16:
      for (int64_t i = 0; i < n; ++i) {
        const bf16_bits h = f32_to_bf16(src[i]);
        std::memcpy(dst + 2 * i, &h, 2);
      }
      break;
    case DType::Q8_0: quantize_q8_0(src, reinterpret_cast<block_q8_0*>(dst), n_blocks); break;
    case DType::Q4_0: quantize_q4_0(src, reinterpret_cast<block_q4_0*>(dst), n, importance); break;
    case DType::Q5_0: quantize_q5_0(src, reinterpret_cast<block_q5_0*>(dst), n, importance); break;
    case DType::Q4_K: quantize_q4_K(src, reinterpret_cast<block_q4_K*>(dst), n_blocks, importance); break;
    case DType::Q5_K: quantize_q5_K(src, reinterpret_cast<block_q5_K*>(dst), n_blocks, importance); break;
    case DType::Q6_K: quantize_q6_K(src, reinterpret_cast<block_q6_K*>(dst), n_blocks, importance); break;
    case DType::MXFP4: quantize_mxfp4(src, reinterpret_cast<block_mxfp4*>(dst), n_blocks); break;  // no importance, as ggml
    default: break;
  }
}

}  // namespace s1
