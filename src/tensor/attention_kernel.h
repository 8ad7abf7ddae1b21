#pragma once
// The attention block (tensor/attention_block.h) as one template that every
// kernel set compiles for its own target: GCC vector extensions, `Lanes`
// floats wide, become zmm, ymm or NEON registers. A vector holds one value for
// each of `Lanes` queries, so a query·key product is a chain of lane-wise
// multiply-adds (no horizontal sums), and softmax runs across the lanes too.
//
//   scores[j][l] = Σ_d (scale·q_l[d]) · k_j[d]        8 keys at a time
//   p[j][l]      = exp(scores[j][l] − max_l)           masked keys: 0
//   out_l[c]     = Σ_j p[j][l] · v_j[c] / Σ_j p[j][l]  8 value columns at a time
//
// Each query's sum runs over d (and j) in order, whatever the lane count, so
// every set gives the same bits. Helpers stay in an unnamed namespace and use
// no library templates: each folder gets its own copy (tensor/kernel_set.h).
#include <cstdint>
#include <cstring>

#include "tensor/attention_block.h"

namespace s1::attention_kernel {
namespace {

template <int Lanes>
struct Vectors {
  typedef float F __attribute__((vector_size(Lanes * sizeof(float))));
  typedef int32_t I __attribute__((vector_size(Lanes * sizeof(float))));
};

constexpr int kTile = 8;  // keys (scores) or value columns (outputs) per register tile

// e^x lane-wise for x <= 0 (the max is subtracted first): x = n·ln2 + r with
// |r| <= ln2/2, e^r by Cephes' degree-5 polynomial (about 1 ulp), 2^n through
// the exponent bits. Below -87 (e^x under FLT_MIN, or a masked key's -inf) it is 0.
template <typename F, typename I>
inline F exp_nonpositive(F x) {
  const F magic = F{} + 12582912.0f;  // 1.5·2^23: adding it rounds to an integer in the low bits
  const F low = F{} - 87.0f;
  const F clamped = x < low ? low : x;
  const F t = clamped * 1.44269504088896341f + magic;
  const F n = t - magic;
  const F r = (clamped - n * 0.693359375f) + n * 2.12194440e-4f;
  F p = F{} + 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const I bits = ((I)t - (I)magic + 127) << 23;
  const F result = p * (F)bits;
  return x < low ? F{} : result;
}

// `widen_f16(src, n, dst)`: the set's F16 -> f32 conversion of one row.
template <int Lanes, typename WidenF16>
void attention_block(const AttentionBlock& b, WidenF16 widen_f16) {
  using F = typename Vectors<Lanes>::F;
  using I = typename Vectors<Lanes>::I;
  const int hd = b.head_dim, vd = b.value_dim;

  // Keys and values, widened once for every query of the block.
  int64_t n_keys = 0;
  for (int r = 0; r < b.n_runs; ++r) n_keys += b.runs[r].n_rows;
  const auto aligned = [](float* p) {
    return reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(p) + 63) & ~uintptr_t(63));
  };
  F* scores = reinterpret_cast<F*>(aligned(b.scratch));  // [n_keys] query lanes
  F* queries = scores + n_keys;                          // [hd]: the lanes' scaled queries
  float* keys = reinterpret_cast<float*>(queries + hd);  // [n_keys][hd]
  float* values = keys + n_keys * hd;                    // [n_keys][vd]
  const bool f16 = b.kv_type == DType::F16;
  const size_t elem = f16 ? 2 : 4;
  int64_t j = 0;
  for (int r = 0; r < b.n_runs; ++r) {
    for (int row = 0; row < b.runs[r].n_rows; ++row, ++j) {
      const size_t at = (size_t(row) * b.row_stride + b.head_offset) * elem;
      const uint8_t* k = b.runs[r].k + at;
      const uint8_t* v = b.runs[r].v + at;
      if (f16) {
        widen_f16(reinterpret_cast<const uint16_t*>(k), hd, keys + j * hd);
        widen_f16(reinterpret_cast<const uint16_t*>(v), vd, values + j * vd);
      } else {
        std::memcpy(keys + j * hd, k, size_t(hd) * sizeof(float));
        std::memcpy(values + j * vd, v, size_t(vd) * sizeof(float));
      }
    }
  }

  for (int q0 = 0; q0 < b.n_queries; q0 += Lanes) {
    // Unused lanes repeat the first query; their results are not written.
    const AttentionQuery* lane[Lanes];
    for (int l = 0; l < Lanes; ++l) lane[l] = &b.queries[q0 + l < b.n_queries ? q0 + l : q0];
    int lo = lane[0]->first_key, hi = lane[0]->end_key, all_from = lo, all_to = hi;
    F sink;
    for (int l = 0; l < Lanes; ++l) {
      lo = lane[l]->first_key < lo ? lane[l]->first_key : lo;
      hi = lane[l]->end_key > hi ? lane[l]->end_key : hi;
      all_from = lane[l]->first_key > all_from ? lane[l]->first_key : all_from;
      all_to = lane[l]->end_key < all_to ? lane[l]->end_key : all_to;
      sink[l] = lane[l]->sink;
    }
    for (int d = 0; d < hd; ++d)
      for (int l = 0; l < Lanes; ++l) queries[d][l] = b.scale * lane[l]->q[d];

    // Scores, kTile keys at a time (independent chains hide the adds' latency).
    int key = lo;
    for (; key + kTile <= hi; key += kTile) {
      F acc[kTile] = {};
      for (int d = 0; d < hd; ++d) {
        const F qd = queries[d];
        for (int t = 0; t < kTile; ++t) acc[t] += qd * keys[(key + t) * hd + d];
      }
      for (int t = 0; t < kTile; ++t) scores[key + t] = acc[t];
    }
    for (; key < hi; ++key) {
      F acc = {};
      for (int d = 0; d < hd; ++d) acc += queries[d] * keys[key * hd + d];
      scores[key] = acc;
    }
    // Keys outside some lane's window score -inf there: only those before every
    // lane's start or after some lane's end, [lo, all_from) and [all_to, hi).
    const auto mask = [&](int from, int to) {
      for (int k = from; k < to; ++k)
        for (int l = 0; l < Lanes; ++l)
          if (k < lane[l]->first_key || k >= lane[l]->end_key) scores[k][l] = -__builtin_inff();
    };
    mask(lo, all_from < hi ? all_from : hi);
    mask(all_to > all_from ? all_to : all_from, hi);

    // Softmax across the keys, every lane at once.
    F max = sink;
    for (key = lo; key < hi; ++key) max = scores[key] > max ? scores[key] : max;
    F sum = exp_nonpositive<F, I>(sink - max);
    for (key = lo; key < hi; ++key) {
      scores[key] = exp_nonpositive<F, I>(scores[key] - max);
      sum += scores[key];
    }
    const F inv = 1.0f / sum;

    // Outputs, kTile value columns at a time.
    const int n_lanes = b.n_queries - q0 < Lanes ? b.n_queries - q0 : Lanes;
    for (int c0 = 0; c0 < vd; c0 += kTile) {
      const int n_cols = vd - c0 < kTile ? vd - c0 : kTile;
      F acc[kTile] = {};
      for (key = lo; key < hi; ++key) {
        const F p = scores[key];
        const float* v = values + key * vd + c0;
        if (n_cols == kTile) {
          for (int t = 0; t < kTile; ++t) acc[t] += p * v[t];
        } else {
          for (int t = 0; t < n_cols; ++t) acc[t] += p * v[t];
        }
      }
      for (int t = 0; t < n_cols; ++t) {
        const F o = acc[t] * inv;
        for (int l = 0; l < n_lanes; ++l) lane[l]->out[c0 + t] = o[l];
      }
    }
  }
}

}  // namespace
}  // namespace s1::attention_kernel
