#pragma once
// The element-wise and per-row operations of a transformer forward pass, on f32
// activations: RMS norm, rotary position embedding, softmax, SwiGLU, residual
// adds and biases, and causal attention of one query head over KV rows stored
// in F32 or F16 (the KV cache's formats). Weights enter only through matmul.h.
//
// Each function is small and self-contained on purpose: the training code's
// backward pass mirrors them one by one.
#include <cstddef>
#include <cstdint>
#include <array>
#include <limits>
#include <span>
#include <vector>

#include "tensor/attention_block.h"
#include "tensor/dtype.h"

namespace s1::ops {

// out[i] = x[i] / sqrt(mean(x²) + eps) * weight[i] for i in [0, n). out may be x.
void rmsnorm(const float* x, const float* weight, float* out, int64_t n, float eps);

// x[i] += y[i] for i in [0, n).
void add(float* x, const float* y, int64_t n);

// Every one of the n_rows rows of x (n elements each) gets bias added.
void add_bias(float* x, const float* bias, int64_t n_rows, int64_t n);

// Softmax of x[0..n) in place (max-subtracted, so large logits are safe). A
// finite `sink` is one more logit in the denominator whose share goes nowhere.
void softmax(float* x, int64_t n, float sink = -std::numeric_limits<float>::infinity());

// out[i] = silu(gate[i]) * up[i]: the gated activation of a SwiGLU feed-forward.
void swiglu(const float* gate, const float* up, float* out, int64_t n);

// gpt-oss's clamped variant: g = min(gate[i], limit), u = clamp(up[i], -limit,
// limit), out[i] = g · sigmoid(alpha · g) · (u + 1). out may be gate or up.
void swiglu_clamped(const float* gate, const float* up, float* out, int64_t n, float alpha, float limit);

// Rotary position embedding. `neox` rotates element pairs (i, i + n_rot/2)
// (GPT-NeoX, Qwen); `normal` rotates adjacent pairs (2i, 2i + 1) (LLaMA).
enum class RopeStyle { normal, neox };

// The angle of pair i at position p is p * inv_freq[i], inv_freq[i] =
// freq_scale * theta^(-2i / n_rot) / freq_factor[i] (freq factors from
// rope_freqs.weight when the model has them, else 1), as ggml computes it.
struct Rope {
  RopeStyle style = RopeStyle::neox;
  int n_rot = 0;                 // rotated dimensions per head (<= head_dim; the rest pass through)
  std::vector<double> inv_freq;  // n_rot / 2 entries

  // cos and sin are scaled by this: attention logits by its square (YaRN's
  // magnitude correction; 1 otherwise).
  float mscale = 1.0f;

  Rope() = default;
  Rope(RopeStyle style, int n_rot, double theta, double freq_scale, std::span<const float> freq_factors);

  // YaRN (gpt-oss, DeepSeek): instead of every pair's frequency being scaled by
  // freq_scale, pairs that turn many times within the original context
  // (n_ctx_orig) keep theirs, pairs that turn less than once take the scaled
  // one, and a linear ramp over the pair index mixes the two between the
  // correction dims of beta_fast and beta_slow rotations (as ggml floors and
  // ceils them). `mscale` is the magnitude factor the caller worked out.
  void use_yarn(double theta, double freq_scale, std::span<const float> freq_factors, int n_ctx_orig,
                double beta_fast, double beta_slow, float mscale);

  // Rotates each of the n_heads heads (head_dim elements each, contiguous) of x
  // to position `pos`.
  void apply(float* x, int n_heads, int head_dim, int64_t pos) const;

  // Interleaved multi-section rope (Qwen3-VL, Qwen3.5) for text: pair i turns
  // by the time, height or width position (all the token's position for
  // text) when i % Σsections falls in the interleaved time/height/width
  // sections, and by the fourth (0 for text, as llama.cpp sets it) otherwise,
  // so those pairs stay as they are.
  void keep_text_sections(const std::array<int, 4>& sections);
};

// Attention of a block of queries sharing a KV head (tensor/attention_block.h)
// by the kernel set in use: the same function as attention_head for each of
// them, computed as register tiles over keys read once for the block.
void attention_block(const AttentionBlock& block);

// Attention of one query head over the rows in `runs`, in order (positions
// 0..n-1 of a sequence, already limited to the causal window by the caller):
// out = softmax(scale * q·k_j) · v_j over j, reading each row's head slice at
// element `head_offset`. kv_type is F32 or F16. `scores` is scratch of at least
// as many floats as there are rows. A finite `sink` (gpt-oss's per-head
// attention sink) is one more logit in the softmax's denominator that
// attends to nothing, so a head can give every position little weight.
// value_dim (0: head_dim) is how many leading elements of a value row are
// read, for multi-head latent attention, whose value rows are its key rows'
// latent part.
void attention_head(const float* q, int head_dim, float scale, DType kv_type, std::span<const KvRun> runs,
                    size_t row_stride, size_t head_offset, float* scores, float* out,
                    float sink = -std::numeric_limits<float>::infinity(), int value_dim = 0);

}  // namespace s1::ops
