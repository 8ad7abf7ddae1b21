// Q4_0 / Q5_0 / Q8_0 / MXFP4 weights: 32-element blocks with an f16 scale (an
// E8M0 power of two for MXFP4). Activations are quantized to int8 with one
// scale per block (as llama.cpp's q8_0) and the products run on AVX-512 VNNI
// (vpdpbusd: unsigned x signed bytes).
//
// Work goes in chunks of two blocks (64 elements = one zmm of bytes). A weight
// chunk is unpacked to signed bytes w (q4: q - 8, q5: q - 16, q8: q, MXFP4:
// table[q] - 12) with the two block scales expanded to 16 float lanes and a
// seed, -128 * (sum of each lane's 4 w); activations are stored as unsigned
// bytes a + 128, so vpdpbusd(seed, a + 128, w) is sum(a * w) per lane, and the
// seed is computed once per weight chunk, not per token. Per chunk and token:
// a permute spreads the token's two block scales over their lanes, one
// multiply per row takes them times the weight scales, and one FMA adds the
// lanes into the accumulator. One scale per 256 activations (as for the
// K-quants) would save the permute and the multiply, but on Q8_0 files that
// coarser rounding put our KL divergence from the F32 model at 1.3-1.8x
// llama.cpp's. The scales sit compact in a group header: expanded to 16 lanes
// beside each chunk, long rows' activations outgrew L1 (ffn_down at 512
// tokens: 1.6x slower).
//
// MXFP4 is Q4_0's nibble layout with other values: one vpshufb maps the
// nibbles to the doubled E2M1 values plus 12 (0..24, unsigned like Q4_0's
// q), so it takes Q4_0's path (offset 12 instead of 8) at one instruction more
// per chunk; its scale 2^(e - 128) is built from the exponent byte. Its
// decode builds a group's 8 scales at once (mxfp4_decode_row).
//
// Decode prefetches the weights ahead even for one token: the hardware
// prefetcher alone left a single token waiting on memory (bench_matmul, 1
// token, weights from memory, 1 thread: 16-42 % less time for every type and
// shape, e.g. Q8_0 2880 x 2880 0.98 -> 0.81 ms, Q5_0 0.91 -> 0.53 ms).
#include "tensor/simd_x86.h"

#include <algorithm>
#include <cstring>

#include "tensor/blocks.h"
#include "tensor/matmul_kernels.h"

namespace s1::avx512 {
namespace {

using namespace matmul_kernels;

constexpr int kRows = 2;
constexpr int kTokens = 6;        // a 2 x 6 tile: 12 group sums + 12 accumulators in registers
constexpr size_t kWeightChunkBytes = 192;  // s8 w[64], f32 scale[16], s32 seed[16]
constexpr size_t kActChunkBytes = 64;      // u8 a + 128
constexpr int kGroupChunks = 4;            // chunks per activation group (256 elements)
// A token's activation group: its 8 block scales (padded to 64 bytes, so that
// the chunks stay aligned) then its chunks (the last group of a row may use fewer).
constexpr size_t kActGroupHeader = 64;
constexpr size_t kActGroupBytes = kActGroupHeader + kGroupChunks * kActChunkBytes;
static_assert(kGroupChunks * 2 * QK == kGroupCols);

int64_t n_chunks(int64_t cols) { return (cols / QK + 1) / 2; }
int64_t n_groups(int64_t chunks) { return (chunks + kGroupChunks - 1) / kGroupChunks; }

void block32_prepare(DType, const float* x, int64_t cols, uint8_t* token, size_t group_stride) {
  const int64_t n_blocks = cols / QK, chunks = n_chunks(cols);
  for (int64_t g = 0; g < n_groups(chunks); ++g) {
    uint8_t* dst = token + g * group_stride;
    const int64_t b_begin = g * 2 * kGroupChunks, b_end = std::min(n_blocks, b_begin + 2 * kGroupChunks);
    auto* scale = reinterpret_cast<float*>(dst);
    std::fill(scale, scale + kActGroupHeader / sizeof(float), 0.0f);
    dst += kActGroupHeader;
    for (int64_t b = b_begin; b < b_end; b += 2, dst += kActChunkBytes) {
      __m128i q[4];
      for (int h = 0; h < 2; ++h) {
        if (b + h >= b_end) {
          q[2 * h] = q[2 * h + 1] = _mm_setzero_si128();
          continue;
        }
        const float* v = x + (b + h) * QK;
        const __m512 lo = _mm512_loadu_ps(v), hi = _mm512_loadu_ps(v + 16);
        const float m = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(lo), _mm512_abs_ps(hi)));
        const __m512 inv = _mm512_set1_ps(m > 0 ? 127.0f / m : 0.0f);
        scale[b + h - b_begin] = m / 127.0f;
        q[2 * h] = _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(lo, inv)));
        q[2 * h + 1] = _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(hi, inv)));
      }
      __m512i qv = _mm512_castsi128_si512(q[0]);
      qv = _mm512_inserti32x4(qv, q[1], 1);
      qv = _mm512_inserti32x4(qv, q[2], 2);
      qv = _mm512_inserti32x4(qv, q[3], 3);
      _mm512_store_si512(dst, _mm512_xor_si512(qv, _mm512_set1_epi8(char(0x80))));  // a + 128
    }
  }
}

// The two block scales as 16 float lanes (8 per block), from their f16 bits.
inline __m512 pair_scales(f16_bits d0, f16_bits d1) {
  return _mm512_cvtph_ps(_mm256_inserti128_si256(_mm256_castsi128_si256(_mm_set1_epi16(short(d0))),
                                                 _mm_set1_epi16(short(d1)), 1));
}

// The same for MXFP4 blocks blk[0], blk[1] from their E8M0 exponents: 2^(e -
// 128) each (e8m0_half), 0 for a missing second block.
inline __m512 pair_scales(const block_mxfp4* blk, bool has_second) {
  return _mm512_insertf32x8(_mm512_set1_ps(e8m0_half(blk[0].e)),
                            _mm256_set1_ps(has_second ? e8m0_half(blk[1].e) : 0.0f), 1);
}

// The doubled E2M1 value of each MXFP4 code plus 12 (0..24), in every 16-byte
// lane for vpshufb: the unsigned form Q4_0's nibbles have, offset 12.
inline __m512i mxfp4_table() {
  return _mm512_broadcast_i32x4(_mm_setr_epi8(12, 13, 14, 15, 16, 18, 20, 24, 12, 11, 10, 9, 8, 6, 4, 0));
}

// A weight chunk in registers.
struct WeightChunk {
  __m512i w;     // signed values in element order
  __m512 d;      // block scales
  __m512i seed;  // -128 * sum of each lane's 4 values
};

// Blocks b and b+1 (b+1 may be past the row end) as one chunk.
// Scales = false leaves c.d zero (MXFP4 decode builds the scales per group).
template <DType T, bool Scales = true>
inline WeightChunk unpack_pair(const uint8_t* row, int64_t b, bool has_second) {
  WeightChunk c;
  if constexpr (T == DType::Q8_0) {
    const auto* blk = reinterpret_cast<const block_q8_0*>(row) + b;
    const __m256i lo = _mm256_loadu_si256((const __m256i*)blk[0].qs);
    const __m256i hi = has_second ? _mm256_loadu_si256((const __m256i*)blk[1].qs) : _mm256_setzero_si256();
    c.w = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
    c.d = pair_scales(blk[0].d, has_second ? blk[1].d : f16_bits(0));
    c.seed = _mm512_sub_epi32(_mm512_setzero_si512(),
                              _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(char(0x80)), c.w));
  } else {
    using Block = std::conditional_t<T == DType::Q4_0, block_q4_0,
                                     std::conditional_t<T == DType::Q5_0, block_q5_0, block_mxfp4>>;
    const auto* blk = reinterpret_cast<const Block*>(row) + b;
    // Each block's 16 bytes twice, [b0, b0, b1, b1] in 16-byte lanes (two
    // broadcast loads, the second merged under a mask: no shuffle), shifted
    // by [0, 4, 0, 4]: [b0 low nibbles, b0 high, b1 low, b1 high], element order.
    const __m128i x0 = _mm_loadu_si128((const __m128i*)blk[0].qs);
    const __m512i x = has_second ? _mm512_mask_broadcast_i32x4(_mm512_broadcast_i32x4(x0), 0xff00,
                                                               _mm_loadu_si128((const __m128i*)blk[1].qs))
                                 : _mm512_maskz_broadcast_i32x4(0x00ff, x0);
    const __m512i shifts = _mm512_setr_epi64(0, 0, 4, 4, 0, 0, 4, 4);
    const __m512i q = _mm512_and_si512(_mm512_srlv_epi64(x, shifts), _mm512_set1_epi8(0x0f));
    constexpr int offset = T == DType::Q4_0 ? 8 : T == DType::Q5_0 ? 16 : 12;
    __m512i u = q;  // the stored unsigned value (MXFP4: the looked-up one), w + offset
    if constexpr (T == DType::Q5_0) {
      uint32_t h0, h1 = 0;
      std::memcpy(&h0, blk[0].qh, 4);
      if (has_second) std::memcpy(&h1, blk[1].qh, 4);
      u = _mm512_mask_add_epi8(q, __mmask64(h0) | (__mmask64(h1) << 32), q, _mm512_set1_epi8(16));
    }
    if constexpr (T == DType::MXFP4) u = _mm512_shuffle_epi8(mxfp4_table(), q);
    c.w = _mm512_sub_epi8(u, _mm512_set1_epi8(offset));
    if constexpr (T == DType::MXFP4) {
      c.d = Scales ? pair_scales(blk, has_second) : _mm512_setzero_ps();
    } else
      c.d = pair_scales(blk[0].d, has_second ? blk[1].d : f16_bits(0));
    // -128 * sum(w) = 4 * 128 * offset - 128 * sum(u): one vpdpbusd on the unsigned values.
    c.seed = _mm512_dpbusd_epi32(_mm512_set1_epi32(4 * 128 * offset), u, _mm512_set1_epi8(char(-128)));
  }
  return c;
}

template <DType T>
void unpack_row(const uint8_t* row, int64_t n_blocks, uint8_t* dst) {
  for (int64_t b = 0; b < n_blocks; b += 2, dst += kWeightChunkBytes) {
    const WeightChunk c = unpack_pair<T>(row, b, b + 1 < n_blocks);
    _mm512_store_si512(dst, c.w);
    _mm512_store_ps(dst + 64, c.d);
    _mm512_store_si512(dst + 128, c.seed);
  }
}

// Chunk c of group `group` (a pointer into the activations at some group) of
// token t counted from there, and its block scales spread over the chunk's
// lanes by `lanes` (chunk_lanes(c)).
inline __m512i act_chunk(const uint8_t* group, int t, int64_t c) {
  return _mm512_load_si512(group + t * kActGroupBytes + kActGroupHeader + c * kActChunkBytes);
}
inline __m512i chunk_lanes(int64_t c) {
  return _mm512_add_epi32(_mm512_set1_epi32(int(2 * c)), _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
}
inline __m512 act_scales(const uint8_t* group, int t, __m512i lanes) {
  return _mm512_permutexvar_ps(lanes, _mm512_load_ps(group + t * kActGroupBytes));
}

// One past the last chunk of group g.
inline int64_t group_end(int64_t g, int64_t chunks) { return std::min(chunks, (g + 1) * kGroupChunks); }

template <int R, int T>
void block32_tile(const uint8_t* w, size_t w_stride, const uint8_t* a, size_t group_stride, int64_t chunks,
                  float* out, int64_t out_stride) {
  __m512 acc[R][T];
  S1_UNROLL
  for (int r = 0; r < R; ++r)
    S1_UNROLL
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  for (int64_t g = 0; g < n_groups(chunks); ++g) {
    const uint8_t* group = a + g * group_stride;
    for (int64_t c = g * kGroupChunks; c < group_end(g, chunks); ++c) {
      __m512i wq[R], seed[R];
      __m512 wd[R];
      S1_UNROLL
      for (int r = 0; r < R; ++r) {
        const uint8_t* wc = w + r * w_stride + c * kWeightChunkBytes;
        wq[r] = _mm512_load_si512(wc);
        wd[r] = _mm512_load_ps(wc + 64);
        seed[r] = _mm512_load_si512(wc + 128);
      }
      const __m512i lanes = chunk_lanes(c - g * kGroupChunks);
      S1_UNROLL
      for (int t = 0; t < T; ++t) {
        const __m512i aq = act_chunk(group, t, c - g * kGroupChunks);
        const __m512 ad = act_scales(group, t, lanes);
        S1_UNROLL
        for (int r = 0; r < R; ++r)
          acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_dpbusd_epi32(seed[r], aq, wq[r])),
                                      _mm512_mul_ps(wd[r], ad), acc[r][t]);
      }
    }
  }
  S1_UNROLL
  for (int t = 0; t < T; ++t)
    S1_UNROLL
    for (int r = 0; r < R; ++r) out[t * out_stride + r] = _mm512_reduce_add_ps(acc[r][t]);
}

template <int R>
void block32_tiles(const uint8_t* w, size_t w_stride, const uint8_t* a, size_t group_stride, int64_t n_tokens,
                   int64_t chunks, float* out, int64_t out_stride) {
  int64_t t = 0;
  for (; t + kTokens <= n_tokens; t += kTokens)
    block32_tile<R, kTokens>(w, w_stride, a + t * kActGroupBytes, group_stride, chunks, out + t * out_stride,
                             out_stride);
  with_count<kTokens - 1>(int(n_tokens - t), [&](auto n) {
    block32_tile<R, n()>(w, w_stride, a + t * kActGroupBytes, group_stride, chunks, out + t * out_stride, out_stride);
  });
}

// MXFP4 decode builds a group's 8 block scales at once instead of two per
// chunk: the exponent bytes (17 apart: block i's at byte 17i of the group, so
// in 16-byte lane i % 4 of the first or second 64 bytes, at byte i of the
// lane) picked by one vpshufb per 64 bytes and gathered into int32 lanes 0-7
// by one vpermt2d, then e - 128 as floats. Per token, vscalefps makes the
// token's 8 block scales times 2^(e - 128) (one rounding, the same value as
// e8m0_half(e) * scale), and each chunk permutes them over its lanes, as it
// did the token's scales alone: the per-chunk scale build (scalar exponent
// conversion, two broadcasts, an insert) and multiply are gone.
inline __m256 group_exponents(const block_mxfp4* blk, int n) {
  const auto* p = reinterpret_cast<const uint8_t*>(blk);
  __m512i lo, hi;
  if (n == 2 * kGroupChunks) {
    lo = _mm512_loadu_si512(p);
    hi = _mm512_loadu_si512(p + 64);
  } else {  // a row's last group: read no byte past its last block's exponent
    const int bytes = int(sizeof(block_mxfp4)) * (n - 1) + 1;
    lo = _mm512_maskz_loadu_epi8(bytes >= 64 ? ~__mmask64(0) : (__mmask64(1) << bytes) - 1, p);
    hi = _mm512_maskz_loadu_epi8(bytes > 64 ? (__mmask64(1) << (bytes - 64)) - 1 : __mmask64(0), p + 64);
  }
  // Lane k's byte k (first 64 bytes: blocks 0-3) or byte 4 + k (blocks 4-7) to its int32 lane 0.
  const int z = int(0x80808080);
  lo = _mm512_shuffle_epi8(lo, _mm512_setr_epi32(int(0x80808000), z, z, z, int(0x80808001), z, z, z,
                                                 int(0x80808002), z, z, z, int(0x80808003), z, z, z));
  hi = _mm512_shuffle_epi8(hi, _mm512_setr_epi32(int(0x80808004), z, z, z, int(0x80808005), z, z, z,
                                                 int(0x80808006), z, z, z, int(0x80808007), z, z, z));
  const __m512i e = _mm512_permutex2var_epi32(
      lo, _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 0, 0, 0, 0, 0, 0, 0), hi);
  return _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm512_castsi512_si256(e), _mm256_set1_epi32(128)));
}

// Decode: one weight row against up to kDecodeTokens tokens, unpacked in
// registers (no scratch round trip; the weight stream is the bound here).
template <int NT>
void mxfp4_decode_row(const uint8_t* row, int64_t n_blocks, size_t ahead, const uint8_t* a, size_t group_stride,
                      float* out, int64_t out_stride) {
  constexpr size_t pair_bytes = 2 * sizeof(block_mxfp4);
  const auto* blocks = reinterpret_cast<const block_mxfp4*>(row);
  const int64_t chunks = n_chunks(n_blocks * QK);
  __m512 acc[NT];
  S1_UNROLL
  for (int t = 0; t < NT; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t g = 0; g < n_groups(chunks); ++g) {
    const uint8_t* group = a + g * group_stride;
    const int64_t c0 = g * kGroupChunks;
    const int n = int(std::min<int64_t>(2 * kGroupChunks, n_blocks - 2 * c0));
    const __m256 e = group_exponents(blocks + 2 * c0, n);
    __m512 scale[NT];  // the token's block scales times the weights', lanes 0-7
    S1_UNROLL
    for (int t = 0; t < NT; ++t) {
      const __m256 token_scales = _mm256_load_ps(reinterpret_cast<const float*>(group + t * kActGroupBytes));
      scale[t] = _mm512_castps256_ps512(_mm256_scalef_ps(token_scales, e));
    }
    auto chunk = [&](int64_t c, bool has_second) {
      prefetch_span<pair_bytes>(row + c * pair_bytes + ahead);
      const WeightChunk wc = unpack_pair<DType::MXFP4, false>(row, 2 * c, has_second);
      const __m512i lanes = chunk_lanes(c - c0);
      S1_UNROLL
      for (int t = 0; t < NT; ++t) {
        const __m512i dot = _mm512_dpbusd_epi32(wc.seed, act_chunk(group, t, c - c0), wc.w);
        acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_permutexvar_ps(lanes, scale[t]), acc[t]);
      }
    };
    if (n == 2 * kGroupChunks) {  // a whole group: unrolled, every chunk two blocks
      S1_UNROLL
      for (int i = 0; i < kGroupChunks; ++i) chunk(c0 + i, true);
    } else {
      for (int64_t c = c0; c < group_end(g, chunks); ++c) chunk(c, 2 * c + 1 < n_blocks);
    }
  }
  S1_UNROLL
  for (int t = 0; t < NT; ++t) out[t * out_stride] = _mm512_reduce_add_ps(acc[t]);
}

template <DType T, int NT>
void block32_decode_row(const uint8_t* row, int64_t n_blocks, size_t ahead, const uint8_t* a, size_t group_stride,
                        float* out, int64_t out_stride) {
  constexpr size_t pair_bytes = 2 * (T == DType::Q4_0   ? sizeof(block_q4_0)
                                     : T == DType::Q5_0  ? sizeof(block_q5_0)
                                     : T == DType::MXFP4 ? sizeof(block_mxfp4)
                                                         : sizeof(block_q8_0));
  const int64_t chunks = n_chunks(n_blocks * QK);
  __m512 acc[NT];
  S1_UNROLL
  for (int t = 0; t < NT; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t g = 0; g < n_groups(chunks); ++g) {
    const uint8_t* group = a + g * group_stride;
    auto chunk = [&](int64_t c, bool has_second) {
      prefetch_span<pair_bytes>(row + c * pair_bytes + ahead);
      const WeightChunk wc = unpack_pair<T>(row, 2 * c, has_second);
      const __m512i lanes = chunk_lanes(c - g * kGroupChunks);
      S1_UNROLL
      for (int t = 0; t < NT; ++t) {
        const __m512i dot = _mm512_dpbusd_epi32(wc.seed, act_chunk(group, t, c - g * kGroupChunks), wc.w);
        acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(wc.d, act_scales(group, t, lanes)), acc[t]);
      }
    };
    const int64_t c0 = g * kGroupChunks;
    if (2 * (c0 + kGroupChunks) <= n_blocks) {  // a whole group: unrolled, every chunk two blocks
      S1_UNROLL
      for (int i = 0; i < kGroupChunks; ++i) chunk(c0 + i, true);
    } else {
      for (int64_t c = c0; c < group_end(g, chunks); ++c) chunk(c, 2 * c + 1 < n_blocks);
    }
  }
  S1_UNROLL
  for (int t = 0; t < NT; ++t) out[t * out_stride] = _mm512_reduce_add_ps(acc[t]);
}

template <DType T>
void block32_rows_of(const WeightMatrix& w, const Activations& act, float* out, int64_t row_begin,
                     int64_t row_end) {
  const int64_t n_blocks = w.cols / QK;
  const int64_t chunks = n_chunks(w.cols);
  if (act.n_tokens <= kDecodeTokens) {
    const size_t ahead = prefetch_distance(w);
    auto decode = [&](auto n_tokens) {
      for (int64_t r = row_begin; r < row_end; ++r)
        if constexpr (T == DType::MXFP4)
          mxfp4_decode_row<n_tokens()>(w.data + r * w.row_stride, n_blocks, ahead, act.data, act.group_stride,
                                       out + r, w.rows);
        else
          block32_decode_row<T, n_tokens()>(w.data + r * w.row_stride, n_blocks, ahead, act.data,
                                            act.group_stride, out + r, w.rows);
    };
    return with_count<kDecodeTokens>(int(act.n_tokens), decode);
  }
  const size_t unpacked_stride = size_t(chunks) * kWeightChunkBytes;
  uint8_t* unpacked = scratch(1, kRows * unpacked_stride);
  for (int64_t tb = 0; tb < act.n_tokens; tb += kTokenBlock) {
    const int64_t n_block = std::min(kTokenBlock, act.n_tokens - tb);
    const uint8_t* a = act.data + tb * kActGroupBytes;
    for (int64_t r0 = row_begin; r0 < row_end; r0 += kRows) {
      const int n_rows = int(std::min<int64_t>(kRows, row_end - r0));
      for (int r = 0; r < n_rows; ++r)
        unpack_row<T>(w.data + (r0 + r) * w.row_stride, n_blocks, unpacked + r * unpacked_stride);
      float* o = out + tb * w.rows + r0;
      if (n_rows == kRows) {
        block32_tiles<kRows>(unpacked, unpacked_stride, a, act.group_stride, n_block, chunks, o, w.rows);
      } else {
        for (int r = 0; r < n_rows; ++r)
          block32_tiles<1>(unpacked + r * unpacked_stride, unpacked_stride, a, act.group_stride, n_block, chunks,
                           o + r, w.rows);
      }
    }
  }
}

void block32_rows(const WeightMatrix& w, const Activations& act, float* out, int64_t row_begin, int64_t row_end) {
  switch (w.type) {
    case DType::Q4_0: return block32_rows_of<DType::Q4_0>(w, act, out, row_begin, row_end);
    case DType::Q5_0: return block32_rows_of<DType::Q5_0>(w, act, out, row_begin, row_end);
    case DType::MXFP4: return block32_rows_of<DType::MXFP4>(w, act, out, row_begin, row_end);
    default: return block32_rows_of<DType::Q8_0>(w, act, out, row_begin, row_end);
  }
}

}  // namespace

extern const matmul_kernels::Family kBlock32Family = {kActGroupBytes, block32_prepare, block32_rows};

}  // namespace s1::avx512
