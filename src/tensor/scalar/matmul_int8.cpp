// Q4_0 / Q5_0 / Q8_0 / MXFP4 / Q4_K / Q5_K / Q6_K weights in plain C++, the way the
// vector sets compute them: activations quantized to int8 with one scale per
// 32 elements for the 32-element block formats (as llama.cpp's q8_0) and one
// per 256 for the K-quants (q8_K), and the sums of each 16; weight rows unpacked to int8 with a
// float scale and offset per 16 elements (every format's value is scale * q +
// offset there), so a product is integer dot products of 16 plus two float
// multiply-adds per 16 elements. Integer loops of constant length are what the
// compiler vectorizes for the baseline target; the exact-f32 alternative
// (dequantize, then float dots) spent its time converting each weight.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "tensor/blocks.h"
#include "tensor/scalar/kernels.h"

namespace s1::scalar {

namespace {

using namespace matmul_kernels;

constexpr int kChunk = 16;  // elements per weight scale/offset and per activation sum

constexpr int kBlock = 32;  // elements per activation scale for the block formats

// One token's 256 activations (the last group of a row may use fewer; the rest
// are zero).
struct alignas(64) ActGroup {
  int8_t q[kGroupCols];
  int16_t sum[kGroupCols / kChunk];  // sums of each 16 q
  float d[kGroupCols / kBlock];      // the scale of each 32 q (for the K-quants all the same)
};
static_assert(sizeof(ActGroup) % 64 == 0);

// Quantizes x[0, n) to q with one scale, returned.
float quantize_span(const float* x, int n, int8_t* q) {
  float amax = 0.0f;
  for (int i = 0; i < n; ++i) amax = std::max(amax, std::abs(x[i]));
  const float inv = amax > 0 ? 127.0f / amax : 0.0f;
  for (int i = 0; i < n; ++i) q[i] = int8_t(std::nearbyint(x[i] * inv));
  return amax / 127.0f;
}

void int8_prepare(DType type, const float* x, int64_t cols, uint8_t* token, size_t group_stride) {
  const bool per_block = type == DType::Q8_0 || type == DType::Q4_0 || type == DType::Q5_0 || type == DType::MXFP4;
  for (int64_t g0 = 0; g0 < cols; g0 += kGroupCols) {
    auto& a = *reinterpret_cast<ActGroup*>(token + (g0 / kGroupCols) * group_stride);
    const int n = int(std::min<int64_t>(kGroupCols, cols - g0));
    std::fill(std::begin(a.q), std::end(a.q), int8_t(0));
    std::fill(std::begin(a.d), std::end(a.d), 0.0f);
    if (per_block) {
      for (int b = 0; b * kBlock < n; ++b) a.d[b] = quantize_span(x + g0 + b * kBlock, kBlock, a.q + b * kBlock);
    } else {
      std::fill(std::begin(a.d), std::end(a.d), quantize_span(x + g0, n, a.q));
    }
    for (int c = 0; c < kGroupCols / kChunk; ++c) {
      int s = 0;
      for (int i = 0; i < kChunk; ++i) s += a.q[c * kChunk + i];
      a.sum[c] = int16_t(s);
    }
  }
}

// A weight row unpacked: q[cols], then scale and offset per 16 elements.
struct Unpacked {
  int8_t* q;
  float* scale;
  float* offset;
};

// Sets chunks [c, c + n) to one scale and offset.
inline void set_chunks(const Unpacked& u, int64_t c, int n, float scale, float offset) {
  for (int i = 0; i < n; ++i) {
    u.scale[c + i] = scale;
    u.offset[c + i] = offset;
  }
}

// Each unpack mirrors the format's dequantization in quant.cpp.
void unpack_q8_0(const uint8_t* row, int64_t n_blocks, const Unpacked& u) {
  const auto* b = reinterpret_cast<const block_q8_0*>(row);
  for (int64_t i = 0; i < n_blocks; ++i) {
    std::memcpy(u.q + i * QK, b[i].qs, QK);
    set_chunks(u, 2 * i, 2, f16_to_f32(b[i].d), 0.0f);
  }
}

void unpack_q4_0(const uint8_t* row, int64_t n_blocks, const Unpacked& u) {
  const auto* b = reinterpret_cast<const block_q4_0*>(row);
  for (int64_t i = 0; i < n_blocks; ++i) {
    int8_t* q = u.q + i * QK;
    for (int j = 0; j < QK / 2; ++j) {
      q[j] = int8_t((b[i].qs[j] & 0x0f) - 8);
      q[j + QK / 2] = int8_t((b[i].qs[j] >> 4) - 8);
    }
    set_chunks(u, 2 * i, 2, f16_to_f32(b[i].d), 0.0f);
  }
}

void unpack_q5_0(const uint8_t* row, int64_t n_blocks, const Unpacked& u) {
  const auto* b = reinterpret_cast<const block_q5_0*>(row);
  for (int64_t i = 0; i < n_blocks; ++i) {
    uint32_t qh;
    std::memcpy(&qh, b[i].qh, 4);
    int8_t* q = u.q + i * QK;
    for (int j = 0; j < QK / 2; ++j) {
      q[j] = int8_t(((b[i].qs[j] & 0x0f) | (((qh >> j) & 1) << 4)) - 16);
      q[j + QK / 2] = int8_t(((b[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) - 16);
    }
    set_chunks(u, 2 * i, 2, f16_to_f32(b[i].d), 0.0f);
  }
}

// MXFP4 codes become their doubled E2M1 values (-12..12), the scale 2^(e-128).
void unpack_mxfp4(const uint8_t* row, int64_t n_blocks, const Unpacked& u) {
  const auto* b = reinterpret_cast<const block_mxfp4*>(row);
  for (int64_t i = 0; i < n_blocks; ++i) {
    int8_t* q = u.q + i * QK;
    for (int j = 0; j < QK / 2; ++j) {
      q[j] = kMxfp4Values[b[i].qs[j] & 0x0f];
      q[j + QK / 2] = kMxfp4Values[b[i].qs[j] >> 4];
    }
    set_chunks(u, 2 * i, 2, e8m0_half(b[i].e), 0.0f);
  }
}

template <DType T>
void unpack_k4(const uint8_t* row, int64_t n_super, const Unpacked& u) {
  using Block = std::conditional_t<T == DType::Q4_K, block_q4_K, block_q5_K>;
  const auto* blocks = reinterpret_cast<const Block*>(row);
  for (int64_t s = 0; s < n_super; ++s) {
    const Block& b = blocks[s];
    const float d = f16_to_f32(b.d), dmin = f16_to_f32(b.dmin);
    uint32_t packed[4];
    k4_scales_mins(b.scales, packed);
    uint8_t scale_min[16];  // 8 scales, then 8 mins
    std::memcpy(scale_min, packed, 16);
    int8_t* q = u.q + s * QK_K;
    for (int sub = 0; sub < 8; sub += 2) {  // 64 elements: low nibbles of 32 bytes, then their high nibbles
      const uint8_t* qs = b.qs + 16 * sub;
      for (int l = 0; l < 32; ++l) {
        int lo = qs[l] & 0x0f, hi = qs[l] >> 4;
        if constexpr (T == DType::Q5_K) {
          lo |= ((b.qh[l] >> sub) & 1) << 4;
          hi |= ((b.qh[l] >> (sub + 1)) & 1) << 4;
        }
        q[32 * sub + l] = int8_t(lo);
        q[32 * sub + 32 + l] = int8_t(hi);
      }
      for (int j = sub; j < sub + 2; ++j)
        set_chunks(u, s * (QK_K / kChunk) + 2 * j, 2, d * float(scale_min[j]), -dmin * float(scale_min[8 + j]));
    }
  }
}

void unpack_q6_K(const uint8_t* row, int64_t n_super, const Unpacked& u) {
  const auto* blocks = reinterpret_cast<const block_q6_K*>(row);
  for (int64_t s = 0; s < n_super; ++s) {
    const block_q6_K& b = blocks[s];
    const float d = f16_to_f32(b.d);
    for (int half = 0; half < 2; ++half) {
      // ql[0..64) holds the low 4 bits of elements l, l+32 (low nibbles) and
      // l+64, l+96 (high nibbles); qh[0..32) their top 2 bits.
      const uint8_t* ql = b.ql + 64 * half;
      const uint8_t* qh = b.qh + 32 * half;
      int8_t* q = u.q + s * QK_K + 128 * half;
      for (int l = 0; l < 32; ++l) {
        q[l] = int8_t(((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32);
        q[l + 32] = int8_t(((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32);
        q[l + 64] = int8_t(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
        q[l + 96] = int8_t(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
      }
      for (int k = 0; k < 8; ++k)
        set_chunks(u, s * (QK_K / kChunk) + 8 * half + k, 1, d * float(b.scales[8 * half + k]), 0.0f);
    }
  }
}

void unpack_row(DType type, const uint8_t* row, int64_t cols, const Unpacked& u) {
  switch (type) {
    case DType::Q8_0: return unpack_q8_0(row, cols / QK, u);
    case DType::Q4_0: return unpack_q4_0(row, cols / QK, u);
    case DType::Q5_0: return unpack_q5_0(row, cols / QK, u);
    case DType::MXFP4: return unpack_mxfp4(row, cols / QK, u);
    case DType::Q4_K: return unpack_k4<DType::Q4_K>(row, cols / QK_K, u);
    case DType::Q5_K: return unpack_k4<DType::Q5_K>(row, cols / QK_K, u);
    default: return unpack_q6_K(row, cols / QK_K, u);
  }
}

inline int32_t dot16(const int8_t* w, const int8_t* a) {
  int32_t s = 0;
  for (int i = 0; i < kChunk; ++i) s += int32_t(w[i]) * int32_t(a[i]);
  return s;
}

// out[t * out_stride] = the row's product with T tokens at once: T independent
// chains of float adds, and each weight chunk loaded once for all of them.
template <int T>
void row_dots(const Unpacked& u, int64_t cols, const uint8_t* act, size_t group_stride, float* out,
              int64_t out_stride) {
  float total[T] = {};
  for (int64_t g0 = 0; g0 < cols; g0 += kGroupCols) {
    const uint8_t* group = act + (g0 / kGroupCols) * group_stride;
    const int chunks = int(std::min<int64_t>(kGroupCols, cols - g0) / kChunk);
    const int64_t c0 = g0 / kChunk;
    for (int c = 0; c < chunks; ++c) {
      const int8_t* wq = u.q + g0 + c * kChunk;
      for (int t = 0; t < T; ++t) {
        const auto& a = *reinterpret_cast<const ActGroup*>(group + t * sizeof(ActGroup));
        // The scales' products first: an integer sum times a large MXFP4
        // scale (up to 2^127) alone could overflow.
        const float d = a.d[c * kChunk / kBlock];
        total[t] += (d * u.scale[c0 + c]) * float(dot16(wq, a.q + c * kChunk)) + (d * u.offset[c0 + c]) * float(a.sum[c]);
      }
    }
  }
  for (int t = 0; t < T; ++t) out[t * out_stride] = total[t];
}

void int8_rows(const WeightMatrix& w, const Activations& act, float* out, int64_t row_begin, int64_t row_end) {
  constexpr int kTokens = 4;
  const int64_t cols = w.cols, chunks = cols / kChunk;
  uint8_t* buffer = scratch(1, size_t(cols) + 2 * size_t(chunks) * sizeof(float));
  const Unpacked u{reinterpret_cast<int8_t*>(buffer), reinterpret_cast<float*>(buffer + cols),
                   reinterpret_cast<float*>(buffer + cols) + chunks};
  for (int64_t tb = 0; tb < act.n_tokens; tb += kTokenBlock) {
    const int64_t te = std::min(act.n_tokens, tb + kTokenBlock);
    for (int64_t r = row_begin; r < row_end; ++r) {
      unpack_row(w.type, w.data + r * w.row_stride, cols, u);
      int64_t t = tb;
      for (; t + kTokens <= te; t += kTokens)
        row_dots<kTokens>(u, cols, act.data + t * sizeof(ActGroup), act.group_stride, out + t * w.rows + r, w.rows);
      with_count<kTokens - 1>(int(te - t), [&](auto n) {
        row_dots<n()>(u, cols, act.data + t * sizeof(ActGroup), act.group_stride, out + t * w.rows + r, w.rows);
      });
    }
  }
}

}  // namespace

extern const Family kInt8Family = {sizeof(ActGroup), int8_prepare, int8_rows};

}  // namespace s1::scalar
