#pragma once
// Every tensor of a model, from its configuration alone: name, shape and what
// it is. The one list that model loading (model/model.cpp), the trainer's
// weights (train/weights.cpp), the quantizer and `s1 mkmodel` walk, as
// gemma.cpp's ForEachTensor is; a new architecture adds its tensors here.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/config.h"

namespace s1 {

// Which slot of the model a tensor fills.
enum class TensorRole {
  token_embd,
  output_norm,
  output,
  rope_freqs,
  attn_norm,
  attn_q,
  attn_k,
  attn_v,
  attn_q_bias,
  attn_k_bias,
  attn_v_bias,
  attn_q_norm,
  attn_k_norm,
  attn_output,
  // Multi-head latent attention (deepseek2)
  mla_q_a,        // attn_q_a: [n_embd -> q_lora_rank]
  mla_q_a_norm,   // attn_q_a_norm: [q_lora_rank]
  mla_q_b,        // attn_q_b: [q_lora_rank -> heads × key_length_mla]
  mla_kv_a,       // attn_kv_a_mqa: [n_embd -> kv_lora_rank + rope dims]
  mla_kv_a_norm,  // attn_kv_a_norm: [kv_lora_rank]
  mla_k_b,        // attn_k_b: per head [no-rope dims -> kv_lora_rank] (stacked like experts)
  mla_v_b,        // attn_v_b: per head [kv_lora_rank -> value_length_mla]
  attn_output_bias,  // gpt-oss
  attn_sinks,        // gpt-oss: one sink logit per head
  ffn_norm,
  ffn_gate,
  ffn_up,
  ffn_down,
  ffn_router,     // ffn_gate_inp: [n_embd -> n_expert] logits
  ffn_gate_exps,  // [n_expert][n_ff_exp × n_embd]
  ffn_up_exps,
  ffn_down_exps,  // [n_expert][n_embd × n_ff_exp]
  // gpt-oss's biases of the router ([n_expert]) and of each expert's matrices ([n_expert][rows])
  ffn_router_bias,
  ffn_selection_bias,  // DeepSeek-V3's exp_probs_b: added to the router's scores for choosing only
  ffn_gate_exps_bias,
  ffn_up_exps_bias,
  ffn_down_exps_bias,
  ffn_gate_inp_shexp,  // the shared expert's gate: [n_embd] -> one logit per token
  ffn_gate_shexp,      // the shared expert's FFN
  ffn_up_shexp,
  ffn_down_shexp,
  // Gated DeltaNet layers (qwen35)
  delta_qkv,      // attn_qkv: [n_embd -> q | k | v], the convolution's input
  delta_gate,     // attn_gate: [n_embd -> value dims], the output norm's gate z
  delta_conv,     // ssm_conv1d: [conv dims][kernel taps]
  delta_dt_bias,  // ssm_dt.bias: per value head
  delta_decay,    // ssm_a: per value head, negative (−exp(A_log))
  delta_beta,     // ssm_beta: [n_embd -> value heads], the update's strength
  delta_alpha,    // ssm_alpha: [n_embd -> value heads], the decay's input
  delta_norm,     // ssm_norm: per value dimension of a head
  delta_out,      // ssm_out: [value dims -> n_embd]
};

enum class TensorKind {
  matrix,   // a weight matrix, any weight type
  experts,  // one weight matrix per expert (or per head: MLA's attn_k_b / attn_v_b), stacked (3-D)
  router,   // a small matrix kept in F32 (llama.cpp's converters never quantize it)
  norm,     // a norm's weight vector (F32, initialized to 1)
  vector,   // a bias, a factor vector or a convolution kernel (F32)
  decay,    // negative rates (F32): a recurrent state's per-step decay
};

struct TensorSpec {
  std::string name;             // GGUF name: "blk.3.attn_q.weight"
  std::vector<uint64_t> shape;  // ggml order: shape[0] is the row length
  TensorRole role;
  TensorKind kind;
  int layer;  // -1 outside the blocks

  // A matrix's rows (per expert for experts) and row length (a vector's elements).
  int64_t rows() const { return shape.size() > 1 ? int64_t(shape[1]) : 1; }
  int64_t cols() const { return int64_t(shape[0]); }
  uint64_t n_elements() const;
};

// Calls f(member) with the member of a block's weights that holds `role`
// (a block role: not token_embd, output_norm, output or rope_freqs, for which
// f is not called). The engine's LayerWeights and the trainer's LayerTensors
// name their members alike, so this one mapping serves both; a layer type
// without Gated DeltaNet, shared-expert, gpt-oss or MLA weights (`delta`,
// `shared_expert`, `bo`, `sinks`, `expert_biases`, `mla`: the trainer's) skips
// those roles.
template <typename Layer, typename F>
void with_layer_slot(Layer& l, TensorRole role, F&& f) {
  using R = TensorRole;
  switch (role) {
    case R::attn_norm: return f(l.attn_norm);
    case R::attn_q: return f(l.wq);
    case R::attn_k: return f(l.wk);
    case R::attn_v: return f(l.wv);
    case R::attn_q_bias: return f(l.bq);
    case R::attn_k_bias: return f(l.bk);
    case R::attn_v_bias: return f(l.bv);
    case R::attn_q_norm: return f(l.q_norm);
    case R::attn_k_norm: return f(l.k_norm);
    case R::attn_output: return f(l.wo);
    case R::attn_output_bias:
      if constexpr (requires { l.bo; }) return f(l.bo);
      return;
    case R::attn_sinks:
      if constexpr (requires { l.sinks; }) return f(l.sinks);
      return;
    case R::ffn_norm: return f(l.ffn_norm);
    case R::ffn_gate: return f(l.w_gate);
    case R::ffn_up: return f(l.w_up);
    case R::ffn_down: return f(l.w_down);
    case R::ffn_router: return f(l.router);
    case R::ffn_gate_exps: return f(l.gate_exps);
    case R::ffn_up_exps: return f(l.up_exps);
    case R::ffn_down_exps: return f(l.down_exps);
    case R::ffn_router_bias:
    case R::ffn_selection_bias:
    case R::ffn_gate_exps_bias:
    case R::ffn_up_exps_bias:
    case R::ffn_down_exps_bias:
      if constexpr (requires { l.expert_biases; }) {
        auto& b = l.expert_biases;
        switch (role) {
          case R::ffn_router_bias: return f(b.router);
          case R::ffn_selection_bias: return f(b.selection);
          case R::ffn_gate_exps_bias: return f(b.gate);
          case R::ffn_up_exps_bias: return f(b.up);
          default: return f(b.down);
        }
      }
      return;
    case R::ffn_gate_inp_shexp:
    case R::ffn_gate_shexp:
    case R::ffn_up_shexp:
    case R::ffn_down_shexp:
      if constexpr (requires { l.shared_expert; }) {
        auto& s = l.shared_expert;
        switch (role) {
          case R::ffn_gate_inp_shexp: return f(s.gate_inp);
          case R::ffn_gate_shexp: return f(s.gate);
          case R::ffn_up_shexp: return f(s.up);
          default: return f(s.down);
        }
      }
      return;
    case R::mla_q_a:
    case R::mla_q_a_norm:
    case R::mla_q_b:
    case R::mla_kv_a:
    case R::mla_kv_a_norm:
    case R::mla_k_b:
    case R::mla_v_b:
      if constexpr (requires { l.mla; }) {
        auto& m = l.mla;
        switch (role) {
          case R::mla_q_a: return f(m.q_a);
          case R::mla_q_a_norm: return f(m.q_a_norm);
          case R::mla_q_b: return f(m.q_b);
          case R::mla_kv_a: return f(m.kv_a);
          case R::mla_kv_a_norm: return f(m.kv_a_norm);
          case R::mla_k_b: return f(m.k_b);
          default: return f(m.v_b);
        }
      }
      return;
    case R::delta_qkv:
    case R::delta_gate:
    case R::delta_conv:
    case R::delta_dt_bias:
    case R::delta_decay:
    case R::delta_beta:
    case R::delta_alpha:
    case R::delta_norm:
    case R::delta_out:
      if constexpr (requires { l.delta; }) {
        auto& d = l.delta;
        switch (role) {
          case R::delta_qkv: return f(d.qkv);
          case R::delta_gate: return f(d.gate);
          case R::delta_conv: return f(d.conv);
          case R::delta_dt_bias: return f(d.dt_bias);
          case R::delta_decay: return f(d.decay);
          case R::delta_beta: return f(d.beta);
          case R::delta_alpha: return f(d.alpha);
          case R::delta_norm: return f(d.norm);
          default: return f(d.out);
        }
      }
      return;
    case R::token_embd:
    case R::output_norm:
    case R::output:
    case R::rope_freqs: return;
  }
}

// Calls fn for every tensor of the model, in the order llama.cpp's converters
// write them: token_embd, output_norm, output (unless tied), rope_freqs (when
// present), then each block's.
void for_each_tensor(const ModelConfig& config, const std::function<void(const TensorSpec&)>& fn);

}  // namespace s1
