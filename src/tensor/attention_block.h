#pragma once
// What attention reads from the KV cache, and a block of queries that read it
// together (the kernel sets' `attention_block` entry, tensor/kernel_set.h).
// Raw pointers only: the kernel sets' folders include this.
#include <cstddef>
#include <cstdint>

#include "tensor/dtype.h"

namespace s1 {

// Rows of cached keys and values that are contiguous in memory: `n_rows` rows
// of `row_stride` elements each (all KV heads of one position), keys at k and
// values at v. A paged cache hands attention one run per block.
struct KvRun {
  const uint8_t* k = nullptr;
  const uint8_t* v = nullptr;
  int n_rows = 0;
};

// One query row of a block: it attends to keys [first_key, end_key) of the
// block's key range (its causal window), with an optional sink logit.
struct AttentionQuery {
  const float* q = nullptr;  // head_dim floats
  float* out = nullptr;      // value_dim floats
  int first_key = 0, end_key = 0;
  float sink = -__builtin_inff();
};

// Queries that share one KV head and one sequence (the heads of a GQA group
// over consecutive positions of a prompt), over the keys in `runs`:
//   out = softmax(scale · q·k_j, sink) · v_j  for j in [first_key, end_key).
// The keys and values are read once for the whole block (widened to f32 into
// `scratch`, which holds attention_block_scratch_floats(...) floats), and the
// products run as register tiles of several queries against several keys:
// prompt processing's attention as small matrix products.
struct AttentionBlock {
  const AttentionQuery* queries = nullptr;
  int n_queries = 0;
  const KvRun* runs = nullptr;  // the block's key range, in order
  int n_runs = 0;
  DType kv_type = DType::F16;  // F32 or F16
  size_t row_stride = 0;       // elements between cached positions
  size_t head_offset = 0;      // the KV head's first element in a row
  int head_dim = 0, value_dim = 0;
  float scale = 1.0f;
  float* scratch = nullptr;
};

// The most query lanes a kernel set's tile holds (the scores' scratch rows).
constexpr int kAttentionMaxLanes = 16;

// Scratch for a block over n_keys keys: their widened keys and values, the
// scores of one tile of query lanes, the tile's queries, and 64-byte alignment.
inline size_t attention_block_scratch_floats(int64_t n_keys, int head_dim, int value_dim) {
  return size_t(n_keys) * size_t(head_dim + value_dim + kAttentionMaxLanes) + size_t(head_dim) * kAttentionMaxLanes +
         16;
}

}  // namespace s1
