#pragma once
// The training forward and backward pass of the engine's transformer
// (model/context.cpp), written out op by op as llm.c does: forward() runs the
// same per-op kernels the engine runs (ops::rmsnorm, ops::Rope, ops::swiglu,
// ops::attention_head, matmul() for every W·x) over f32 master weights and
// saves what backward() needs; backward() walks the ops in reverse, one
// backward function per op (train/backward_ops.h), and accumulates every
// trainable tensor's gradient. The backward's matrix products are matmul()
// calls on transposed operands, so forward and backward share one kernel.
//
// A batch packs whole examples one after another; attention stays inside
// each example (a token sees only the earlier tokens of its own example) and
// positions restart at 0 for every example.
#include <cstdint>
#include <functional>
#include <span>
#include <unordered_map>
#include <vector>

#include "tensor/ops.h"
#include "train/matmul_bf16.h"
#include "train/weights.h"

namespace s1 {
class ThreadPool;
}

namespace s1::train {

struct TokenBatch {
  std::vector<int32_t> tokens;   // model inputs
  std::vector<int32_t> targets;  // the token to predict after each input; -1: no loss here
  std::vector<int32_t> pos;      // position inside its example
  std::vector<int32_t> start;    // index of its example's first token in this batch

  // Appends an example of n tokens: inputs tokens[0..n-1), input t predicts
  // tokens[t+1] where loss_mask[t+1] is set.
  void add_example(std::span<const int32_t> tokens, std::span<const uint8_t> loss_mask);
  int size() const { return int(tokens.size()); }
  int64_t loss_tokens() const;
};

class Transformer {
 public:
  // bf16: matrix products round weights and activations to bfloat16 (f32
  // sums; train/matmul_bf16.h); master weights and gradients stay f32.
  Transformer(Weights& weights, ThreadPool& pool, bool bf16 = false);
  ~Transformer();

  // Runs the batch and keeps its activations. Returns the sum over targets of
  // -log p(target) (divide by loss_tokens() for the mean).
  double forward(const TokenBatch& batch);
  // Rows of n_vocab logits of the last forward, one per target, in batch order.
  std::span<const float> logits() const { return logits_; }
  // Adds d(loss_scale · sum of losses)/dW to every trainable tensor's grad.
  void backward(float loss_scale);

 private:
  struct LayerActivations {
    std::vector<float> x_in, xn_attn, q_pre, k_pre, q, k, v, probs, att, x_mid, xn_ffn, gate, up, hidden;
  };
  void attention_forward(LayerActivations& a);
  void attention_backward(const LayerActivations& a, const float* datt, float* dq, float* dk, float* dv);
  void linear(const Tensor& w, const float* in, int n, float* out);
  // din (when not null) = dout · W, accumulated when `accumulate`; W.grad += doutᵀ · in
  // (when W trains); the same through W's LoRA adapter when it has one.
  void linear_backward(Tensor& w, const float* in, const float* dout, int n, float* din, bool accumulate);
  const std::vector<float>& transposed(const Tensor& w);
  void transpose_rows(const float* src, int64_t rows, int64_t cols, float* dst);
  const Bf16Rows& bf16_of(const Tensor& w, bool transposed);
  // out[n × rows] = x[n × cols] · wᵀ for w [rows × cols] f32, in the pass's
  // precision (w16: w already in bf16, or null).
  void product(const float* w, const Bf16Rows* w16, int64_t rows, int64_t cols, const float* x, int64_t n,
               float* out);
  void for_tokens(int n, const std::function<void(int)>& fn);

  Weights& w_;
  ThreadPool& pool_;
  ops::Rope rope_;
  const TokenBatch* batch_ = nullptr;
  std::vector<int32_t> end_;             // per token: one past its example's last token
  std::vector<int64_t> probs_at_;        // per token: offset of its attention rows in probs
  std::vector<LayerActivations> layers_;
  std::vector<float> x_final_, xn_out_, logits_, dlogits_;
  std::vector<int32_t> out_rows_;        // token index of every logits row
  struct Cached {
    uint64_t version = ~0ull;
    std::vector<float> data;
  };
  std::unordered_map<const Tensor*, Cached> transposes_;
  struct Cached16 {
    uint64_t version = ~0ull;
    Bf16Rows rows;
  };
  std::unordered_map<const Tensor*, Cached16> bf16_[2];  // [transposed]
  bool use_bf16_ = false;
  Bf16Rows w16_scratch_, x16_scratch_;
  std::unordered_map<const Tensor*, std::vector<float>> lora_hidden_;  // A·x of every adapted matrix
  std::vector<float> input_t_;              // the transpose of the last linear input seen by backward
  const float* input_t_of_ = nullptr;       // ... and which activation it is (reset every backward)
  std::vector<float> scratch_b_, scratch_c_;
};

}  // namespace s1::train
