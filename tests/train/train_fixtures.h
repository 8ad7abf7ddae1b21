#pragma once
// Tiny model configurations covering every switch of the engine's
// transformer: qwen2 (q/k/v biases, GQA, untied), qwen3 (per-head q/k norms,
// head_dim != embd / heads, multi-query) and llama (normal rope, tied output).
#include <string>

#include "model/model.h"
#include "train/transformer.h"

namespace s1test {

inline s1::ModelConfig tiny_config(const std::string& arch) {
  s1::ModelConfig c;
  c.arch = arch;
  c.n_layer = 2;
  c.n_embd = 16;
  c.n_head = 4;
  c.n_head_kv = arch == "qwen3" ? 1 : 2;
  c.head_dim = arch == "qwen3" ? 8 : 4;
  c.n_ff = 24;
  c.n_vocab = 40;
  c.n_ctx_train = 64;
  c.rms_eps = 1e-6f;
  c.rope_style = arch == "llama" ? s1::ops::RopeStyle::normal : s1::ops::RopeStyle::neox;
  c.n_rot = c.head_dim;
  c.rope_theta = arch == "llama" ? 10000.0 : 1e6;
  c.qkv_bias = arch == "qwen2";
  c.qk_norm = arch == "qwen3";
  c.tied_output = arch == "llama";
  return c;
}

// Two packed examples with a loss on some of their tokens.
inline s1::train::TokenBatch tiny_batch() {
  s1::train::TokenBatch b;
  const int32_t a[] = {1, 5, 9, 3, 7, 2, 11};
  const uint8_t am[] = {0, 0, 0, 1, 1, 1, 1};
  const int32_t e[] = {4, 8, 15, 16, 23, 39};
  const uint8_t em[] = {0, 1, 0, 1, 1, 1};
  b.add_example(a, am);
  b.add_example(e, em);
  return b;
}

}  // namespace s1test
