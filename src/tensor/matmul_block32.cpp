// Q4_0 / Q5_0 / Q8_0 weights: 32-element blocks with an f16 scale. Activations
// are quantized per 32 elements to int8 (as llama.cpp's q8_0 dot products do)
// and the products run on AVX-512 VNNI (vpdpbusd: unsigned x signed bytes).
//
// Work goes in chunks of two blocks (64 elements = one zmm of bytes). A weight
// row is unpacked to unsigned bytes q + offset (q4: +8, q5: +16, q8: +128) with
// the two block scales expanded to 16 float lanes; each activation chunk
// carries its int8 values, per-lane -offset * (sum of the lane's 4 values) to
// seed vpdpbusd (so the offset costs nothing in the loop) and its two scales
// expanded the same way. A lane then holds sum((q - offset) * a) over 4
// elements of one block, and one FMA with (weight scale * activation scale)
// per lane accumulates it.
#include "tensor/simd_x86.h"

#include <algorithm>
#include <cstring>

#include "tensor/blocks.h"
#include "tensor/matmul_kernels.h"

namespace s1::matmul_kernels {
namespace {

constexpr int kRows = 4;
constexpr int kTokens = 4;
constexpr int kDecodeTokens = 8;  // up to this many tokens, rows are unpacked in registers
constexpr size_t kWeightChunkBytes = 128;  // u8 q[64], f32 scale[16]
constexpr size_t kActChunkBytes = 192;     // s8 q[64], s32 seed[16], f32 scale[16]

int64_t n_chunks(int64_t cols) { return (cols / QK + 1) / 2; }

int weight_offset(DType type) {
  switch (type) {
    case DType::Q4_0: return 8;
    case DType::Q5_0: return 16;
    default: return 128;  // Q8_0, stored as q ^ 0x80
  }
}

size_t block32_act_bytes(int64_t cols) { return size_t(n_chunks(cols)) * kActChunkBytes; }

void block32_prepare(DType type, const float* x, int64_t cols, uint8_t* dst) {
  const int64_t n_blocks = cols / QK;
  const __m512i seed_scale = _mm512_set1_epi32(-weight_offset(type));
  const __m512i ones = _mm512_set1_epi8(1);
  for (int64_t c = 0; c < n_chunks(cols); ++c, dst += kActChunkBytes) {
    __m128i q[4];
    float d[2];
    for (int h = 0; h < 2; ++h) {
      const int64_t b = 2 * c + h;
      if (b >= n_blocks) {
        q[2 * h] = q[2 * h + 1] = _mm_setzero_si128();
        d[h] = 0;
        continue;
      }
      const __m512 v0 = _mm512_loadu_ps(x + b * QK), v1 = _mm512_loadu_ps(x + b * QK + 16);
      const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
      d[h] = amax / 127.0f;
      const __m512 inv = _mm512_set1_ps(amax > 0 ? 127.0f / amax : 0.0f);
      q[2 * h] = _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(v0, inv)));
      q[2 * h + 1] = _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(v1, inv)));
    }
    __m512i qv = _mm512_castsi128_si512(q[0]);
    qv = _mm512_inserti32x4(qv, q[1], 1);
    qv = _mm512_inserti32x4(qv, q[2], 2);
    qv = _mm512_inserti32x4(qv, q[3], 3);
    _mm512_store_si512(dst, qv);
    const __m512i lane_sums = _mm512_dpbusd_epi32(_mm512_setzero_si512(), ones, qv);
    _mm512_store_si512(dst + 64, _mm512_mullo_epi32(lane_sums, seed_scale));
    _mm512_store_ps(dst + 128, _mm512_insertf32x8(_mm512_set1_ps(d[0]), _mm256_set1_ps(d[1]), 1));
  }
}

// The two block scales as 16 float lanes (8 per block), from their f16 bits.
inline __m512 pair_scales(f16_bits d0, f16_bits d1) {
  return _mm512_cvtph_ps(_mm256_inserti128_si256(_mm256_castsi128_si256(_mm_set1_epi16(short(d0))),
                                                 _mm_set1_epi16(short(d1)), 1));
}

// Blocks b and b+1 (b+1 may be past the row end) as 64 unsigned bytes in
// element order, and their scales.
template <DType T>
inline void unpack_pair(const uint8_t* row, int64_t b, bool has_second, __m512i& q, __m512& d) {
  if constexpr (T == DType::Q8_0) {
    const auto* blk = reinterpret_cast<const block_q8_0*>(row) + b;
    const __m256i lo = _mm256_loadu_si256((const __m256i*)blk[0].qs);
    const __m256i hi = has_second ? _mm256_loadu_si256((const __m256i*)blk[1].qs) : _mm256_setzero_si256();
    q = _mm512_xor_si512(_mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1), _mm512_set1_epi8(char(0x80)));
    d = pair_scales(blk[0].d, has_second ? blk[1].d : f16_bits(0));
  } else {
    using Block = std::conditional_t<T == DType::Q4_0, block_q4_0, block_q5_0>;
    const auto* blk = reinterpret_cast<const Block*>(row) + b;
    const __m128i x0 = _mm_loadu_si128((const __m128i*)blk[0].qs);
    const __m128i x1 = has_second ? _mm_loadu_si128((const __m128i*)blk[1].qs) : _mm_setzero_si128();
    const __m256i x = _mm256_set_m128i(x1, x0);
    const __m256i low4 = _mm256_set1_epi8(0x0f);
    const __m256i lo = _mm256_and_si256(x, low4);
    const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(x, 4), low4);
    // [b0 lo, b1 lo, b0 hi, b1 hi] -> [b0 lo, b0 hi, b1 lo, b1 hi] (16-byte lanes)
    const __m512i mixed = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
    q = _mm512_shuffle_i64x2(mixed, mixed, _MM_SHUFFLE(3, 1, 2, 0));
    if constexpr (T == DType::Q5_0) {
      uint32_t h0, h1 = 0;
      std::memcpy(&h0, blk[0].qh, 4);
      if (has_second) std::memcpy(&h1, blk[1].qh, 4);
      q = _mm512_mask_add_epi8(q, __mmask64(h0) | (__mmask64(h1) << 32), q, _mm512_set1_epi8(16));
    }
    d = pair_scales(blk[0].d, has_second ? blk[1].d : f16_bits(0));
  }
}

template <DType T>
void unpack_row(const uint8_t* row, int64_t n_blocks, uint8_t* dst) {
  for (int64_t b = 0; b < n_blocks; b += 2, dst += kWeightChunkBytes) {
    __m512i q;
    __m512 d;
    unpack_pair<T>(row, b, b + 1 < n_blocks, q, d);
    _mm512_store_si512(dst, q);
    _mm512_store_ps(dst + 64, d);
  }
}

template <int R, int T>
void block32_tile(const uint8_t* w, size_t w_stride, const uint8_t* a, size_t a_stride, int64_t chunks,
                  float* out, int64_t out_stride) {
  __m512 acc[R][T];
  S1_UNROLL
  for (int r = 0; r < R; ++r)
    S1_UNROLL
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  for (int64_t c = 0; c < chunks; ++c) {
    __m512i wq[R];
    __m512 wd[R];
    S1_UNROLL
    for (int r = 0; r < R; ++r) {
      wq[r] = _mm512_load_si512(w + r * w_stride + c * kWeightChunkBytes);
      wd[r] = _mm512_load_ps(w + r * w_stride + c * kWeightChunkBytes + 64);
    }
    S1_UNROLL
    for (int t = 0; t < T; ++t) {
      const uint8_t* at = a + t * a_stride + c * kActChunkBytes;
      const __m512i aq = _mm512_load_si512(at);
      const __m512i seed = _mm512_load_si512(at + 64);
      const __m512 ad = _mm512_load_ps(at + 128);
      S1_UNROLL
      for (int r = 0; r < R; ++r) {
        const __m512i dot = _mm512_dpbusd_epi32(seed, wq[r], aq);
        acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(wd[r], ad), acc[r][t]);
      }
    }
  }
  S1_UNROLL
  for (int t = 0; t < T; ++t)
    S1_UNROLL
    for (int r = 0; r < R; ++r) out[t * out_stride + r] = _mm512_reduce_add_ps(acc[r][t]);
}

template <int R>
void block32_tiles(const uint8_t* w, size_t w_stride, const uint8_t* a, size_t a_stride, int64_t n_tokens,
                   int64_t chunks, float* out, int64_t out_stride) {
  int64_t t = 0;
  for (; t + kTokens <= n_tokens; t += kTokens)
    block32_tile<R, kTokens>(w, w_stride, a + t * a_stride, a_stride, chunks, out + t * out_stride, out_stride);
  with_count<kTokens - 1>(int(n_tokens - t), [&](auto n) {
    block32_tile<R, n()>(w, w_stride, a + t * a_stride, a_stride, chunks, out + t * out_stride, out_stride);
  });
}

// Decode: one weight row against up to kDecodeTokens tokens, unpacked in
// registers (no scratch round trip; the weight stream is the bound here).
template <DType T, int NT>
void block32_decode_row(const uint8_t* row, int64_t n_blocks, const uint8_t* a, size_t a_stride, float* out,
                        int64_t out_stride) {
  __m512 acc[NT];
  S1_UNROLL
  for (int t = 0; t < NT; ++t) acc[t] = _mm512_setzero_ps();
  auto step = [&](int64_t b, bool has_second) {
    __m512i q;
    __m512 d;
    unpack_pair<T>(row, b, has_second, q, d);
    S1_UNROLL
    for (int t = 0; t < NT; ++t) {
      const uint8_t* at = a + t * a_stride + (b / 2) * kActChunkBytes;
      const __m512i dot = _mm512_dpbusd_epi32(_mm512_load_si512(at + 64), q, _mm512_load_si512(at));
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(d, _mm512_load_ps(at + 128)), acc[t]);
    }
  };
  int64_t b = 0;
  for (; b + 1 < n_blocks; b += 2) step(b, true);
  if (b < n_blocks) step(b, false);
  S1_UNROLL
  for (int t = 0; t < NT; ++t) out[t * out_stride] = _mm512_reduce_add_ps(acc[t]);
}

template <DType T>
void block32_rows_of(const WeightMatrix& w, const Activations& act, float* out, int64_t row_begin,
                     int64_t row_end) {
  const int64_t n_blocks = w.cols / QK;
  const int64_t chunks = n_chunks(w.cols);
  if (act.n_tokens <= kDecodeTokens) {
    auto decode = [&](auto n_tokens) {
      for (int64_t r = row_begin; r < row_end; ++r)
        block32_decode_row<T, n_tokens()>(w.data + r * w.row_stride, n_blocks, act.data, act.stride, out + r, w.rows);
    };
    return with_count<kDecodeTokens>(int(act.n_tokens), decode);
  }
  const size_t unpacked_stride = size_t(chunks) * kWeightChunkBytes;
  uint8_t* unpacked = scratch(1, kRows * unpacked_stride);
  for (int64_t tb = 0; tb < act.n_tokens; tb += kTokenBlock) {
    const int64_t n_block = std::min(kTokenBlock, act.n_tokens - tb);
    const uint8_t* a = act.data + tb * act.stride;
    for (int64_t r0 = row_begin; r0 < row_end; r0 += kRows) {
      const int n_rows = int(std::min<int64_t>(kRows, row_end - r0));
      for (int r = 0; r < n_rows; ++r)
        unpack_row<T>(w.data + (r0 + r) * w.row_stride, n_blocks, unpacked + r * unpacked_stride);
      float* o = out + tb * w.rows + r0;
      if (n_rows == kRows) {
        block32_tiles<kRows>(unpacked, unpacked_stride, a, act.stride, n_block, chunks, o, w.rows);
      } else {
        for (int r = 0; r < n_rows; ++r)
          block32_tiles<1>(unpacked + r * unpacked_stride, unpacked_stride, a, act.stride, n_block, chunks, o + r,
                           w.rows);
      }
    }
  }
}

void block32_rows(const WeightMatrix& w, const Activations& act, float* out, int64_t row_begin, int64_t row_end) {
  switch (w.type) {
    case DType::Q4_0: return block32_rows_of<DType::Q4_0>(w, act, out, row_begin, row_end);
    case DType::Q5_0: return block32_rows_of<DType::Q5_0>(w, act, out, row_begin, row_end);
    default: return block32_rows_of<DType::Q8_0>(w, act, out, row_begin, row_end);
  }
}

}  // namespace

const Family kBlock32Family = {block32_act_bytes, block32_prepare, block32_rows};

}  // namespace s1::matmul_kernels
