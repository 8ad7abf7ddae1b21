#pragma once
// The interface between matmul.cpp and the kernel families of each instruction
// set (tensor/kernel_set.h): plain floats, 32-element blocks, 256-element
// super-blocks. Each prepares the activations once per matmul call (shared
// read-only by the threads) and computes a range of output rows. Up to kDecodeTokens tokens, each row is unpacked in registers and run
// against every token at once; with more, rows are unpacked a few at a time
// into a per-thread scratch buffer (integer weights + expanded scales, laid
// out for the SIMD inner loop) and reused for every token. Either way the
// weights come from memory once per call (9-32 tokens go through the decode
// kernels in slices of 8, the rows staying in cache between slices).
//
// The helpers here are compiled into every instruction set's folder, so they
// live in an unnamed namespace: each folder gets its own copy, and the linker
// cannot hand the baseline code one built for another target.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "tensor/matmul.h"

namespace s1::matmul_kernels {

// Activations as a family's kernel wants them. Float weights read the f32
// input in place: token t at data + t * stride. The integer families quantize
// it in groups of kGroupCols columns, `group_bytes` per token and group, and
// lay the tokens side by side within each group: group g of token t is at
// data + g * group_stride + t * group_bytes (group_stride = n_tokens *
// group_bytes). A kernel reading several tokens then addresses them all from
// one pointer per group with constant offsets, instead of one register each.
struct Activations {
  const uint8_t* data = nullptr;
  size_t stride = 0;        // float family: bytes between tokens
  size_t group_stride = 0;  // integer families: bytes between a token's groups
  int64_t n_tokens = 0;
};

constexpr int64_t kGroupCols = 256;

struct Family {
  // Bytes of one token's prepared group (a multiple of 64); 0 means the
  // kernel reads the f32 input in place.
  size_t group_bytes;
  // Prepares one token's activations (`cols` floats) for weights of `type`,
  // group g at dst + g * group_stride.
  void (*prepare)(DType type, const float* in, int64_t cols, uint8_t* dst, size_t group_stride);
  // out[t * w.rows + r] for r in [row_begin, row_end) and every token.
  void (*rows)(const WeightMatrix& w, const Activations& act, float* out, int64_t row_begin, int64_t row_end);
};

// Up to this many tokens the integer families unpack each weight row in
// registers and run it against every token at once (the decode kernels).
constexpr int kDecodeTokens = 8;

// Tokens whose activations one pass over a row tile covers: keeps the prepared
// activations of a block of tokens in L2 while the weights cycle through L1.
constexpr int64_t kTokenBlock = 64;

// A 64-byte aligned per-thread buffer of at least `bytes`; `slot` separates the
// buffers one thread uses at the same time (0: activations, 1: unpacked rows,
// 2: partial sums of a column slice).
uint8_t* scratch(int slot, size_t bytes);

// Decoding several tokens spends long enough on each weight row that the
// hardware prefetcher falls behind on long rows (ffn_down with 8 tokens: 1.7-3x
// slower from memory than from cache). The decode kernels prefetch the columns
// they are reading in the row about kPrefetchBytes ahead.
constexpr size_t kPrefetchBytes = 4096;

namespace {

// Bytes from a weight to the same column kPrefetchBytes or more rows on.
inline size_t prefetch_distance(const WeightMatrix& w) {
  const size_t row = std::max<size_t>(1, row_bytes(w.type, uint64_t(w.cols)));
  return w.row_stride * std::max<size_t>(1, kPrefetchBytes / row);
}

// Prefetches the cache lines of [p, p + Bytes) (a constant count, no loop
// branches in the kernels); never faults, even past the end of the weights.
template <size_t Bytes>
inline void prefetch_span(const uint8_t* p) {
  for (size_t i = 0; i < Bytes; i += 64) __builtin_prefetch(p + i, 0, 3);
  __builtin_prefetch(p + Bytes - 1, 0, 3);
}

// Calls f(std::integral_constant<int, n>) for n in [1, Max]: register tiles
// take their token count as a template argument.
template <int Max, typename F>
inline void with_count(int n, F&& f) {
  if constexpr (Max >= 1) {
    if (n == Max) return f(std::integral_constant<int, Max>());
    with_count<Max - 1>(n, f);
  }
}

// The float families' walk over a call's rows, the same in every set: blocks
// of kTokenBlock tokens, and within each, tiles of Rows weight rows, read in
// place (F32) or widened into scratch by the set's `widen(type, src, cols,
// dst)` (F16, BF16). `tile(rows, n_rows, x, x_stride, n_tokens, cols, out,
// out_stride)` computes one tile's products for the block: x is its first
// token, out the tile's first output.
template <int Rows, typename Widen, typename Tile>
void float_row_tiles(const WeightMatrix& w, const Activations& act, float* out, int64_t row_begin, int64_t row_end,
                     Widen widen, Tile tile) {
  const int64_t cols = w.cols;
  const auto* x = reinterpret_cast<const float*>(act.data);
  const int64_t x_stride = int64_t(act.stride / sizeof(float));
  const bool widened_rows = w.type != DType::F32;
  const int64_t widened_stride = (cols + 15) / 16 * 16;  // each widened row 64-byte aligned
  float* widened =
      widened_rows ? reinterpret_cast<float*>(scratch(1, size_t(Rows * widened_stride) * sizeof(float))) : nullptr;
  for (int64_t tb = 0; tb < act.n_tokens; tb += kTokenBlock) {
    const int64_t n_block = act.n_tokens - tb < kTokenBlock ? act.n_tokens - tb : kTokenBlock;
    for (int64_t r0 = row_begin; r0 < row_end; r0 += Rows) {
      const int n_rows = row_end - r0 < Rows ? int(row_end - r0) : Rows;
      const float* rows[Rows];
      for (int r = 0; r < n_rows; ++r) {
        const uint8_t* src = w.data + (r0 + r) * w.row_stride;
        if (widened_rows) {
          widen(w.type, src, cols, widened + r * widened_stride);
          rows[r] = widened + r * widened_stride;
        } else {
          rows[r] = reinterpret_cast<const float*>(src);
        }
      }
      tile(rows, n_rows, x + tb * x_stride, x_stride, n_block, cols, out + tb * w.rows + r0, w.rows);
    }
  }
}

}  // namespace

}  // namespace s1::matmul_kernels
