#include "model/tensors.h"

#include <fmt/format.h>

namespace s1 {

uint64_t TensorSpec::n_elements() const {
  uint64_t n = 1;
  for (uint64_t d : shape) n *= d;
  return n;
}

namespace {

using R = TensorRole;
using K = TensorKind;

// Adds one tensor of block `layer`.
struct BlockTensors {
  const std::function<void(const TensorSpec&)>& fn;
  int layer;
  void operator()(const char* name, std::vector<uint64_t> shape, R role, K kind) const {
    fn({fmt::format("blk.{}.{}", layer, name), std::move(shape), role, kind, layer});
  }
};

void attention_tensors(const ModelConfig& c, const BlockTensors& t) {
  const uint64_t d = uint64_t(c.n_embd), q = uint64_t(c.q_dim()), kv = uint64_t(c.kv_dim()),
                 hd = uint64_t(c.head_dim);
  t("attn_q.weight", {d, c.attn_output_gate ? 2 * q : q}, R::attn_q, K::matrix);
  t("attn_k.weight", {d, kv}, R::attn_k, K::matrix);
  t("attn_v.weight", {d, kv}, R::attn_v, K::matrix);
  if (c.qkv_bias) {
    t("attn_q.bias", {q}, R::attn_q_bias, K::vector);
    t("attn_k.bias", {kv}, R::attn_k_bias, K::vector);
    t("attn_v.bias", {kv}, R::attn_v_bias, K::vector);
  }
  if (c.qk_norm) {
    t("attn_q_norm.weight", {hd}, R::attn_q_norm, K::norm);
    t("attn_k_norm.weight", {hd}, R::attn_k_norm, K::norm);
  }
  t("attn_output.weight", {q, d}, R::attn_output, K::matrix);
  if (c.attn_output_bias) t("attn_output.bias", {d}, R::attn_output_bias, K::vector);
  if (c.attn_sinks) t("attn_sinks.weight", {uint64_t(c.n_head)}, R::attn_sinks, K::vector);
}

void mla_tensors(const ModelConfig& c, const BlockTensors& t) {
  const uint64_t d = uint64_t(c.n_embd), heads = uint64_t(c.n_head), q = uint64_t(c.q_dim()),
                 latent = uint64_t(c.kv_lora_rank), rope = uint64_t(c.n_rot);
  if (c.q_lora_rank > 0) {
    const uint64_t rank = uint64_t(c.q_lora_rank);
    t("attn_q_a.weight", {d, rank}, R::mla_q_a, K::matrix);
    t("attn_q_a_norm.weight", {rank}, R::mla_q_a_norm, K::norm);
    t("attn_q_b.weight", {rank, q}, R::mla_q_b, K::matrix);
  } else {
    t("attn_q.weight", {d, q}, R::attn_q, K::matrix);
  }
  t("attn_kv_a_mqa.weight", {d, latent + rope}, R::mla_kv_a, K::matrix);
  t("attn_kv_a_norm.weight", {latent}, R::mla_kv_a_norm, K::norm);
  t("attn_k_b.weight", {uint64_t(c.mla_nope_dim()), latent, heads}, R::mla_k_b, K::experts);
  t("attn_v_b.weight", {latent, uint64_t(c.mla_value_dim), heads}, R::mla_v_b, K::experts);
  t("attn_output.weight", {uint64_t(c.attn_out_dim()), d}, R::attn_output, K::matrix);
}

void delta_net_tensors(const ModelConfig& c, const BlockTensors& t) {
  const uint64_t d = uint64_t(c.n_embd), conv = uint64_t(c.delta_conv_dim()), value = uint64_t(c.delta_value_dim()),
                 heads = uint64_t(c.ssm_time_step_rank);
  t("attn_qkv.weight", {d, conv}, R::delta_qkv, K::matrix);
  t("attn_gate.weight", {d, value}, R::delta_gate, K::matrix);
  t("ssm_conv1d.weight", {uint64_t(c.ssm_conv_kernel), conv}, R::delta_conv, K::vector);
  t("ssm_dt.bias", {heads}, R::delta_dt_bias, K::vector);
  t("ssm_a", {heads}, R::delta_decay, K::decay);
  t("ssm_beta.weight", {d, heads}, R::delta_beta, K::matrix);
  t("ssm_alpha.weight", {d, heads}, R::delta_alpha, K::matrix);
  t("ssm_norm.weight", {uint64_t(c.ssm_state_size)}, R::delta_norm, K::norm);
  t("ssm_out.weight", {value, d}, R::delta_out, K::matrix);
}

void ffn_tensors(const ModelConfig& c, const BlockTensors& t) {
  const uint64_t d = uint64_t(c.n_embd);
  const std::string norm = fmt::format("{}.weight", find_arch(c.arch)->ffn_norm);
  t(norm.c_str(), {d}, R::ffn_norm, K::norm);
  if (c.is_moe_layer(t.layer)) {
    const uint64_t e = uint64_t(c.n_expert), ff = uint64_t(c.n_ff_exp);
    t("ffn_gate_inp.weight", {d, e}, R::ffn_router, K::router);
    if (c.expert_selection_bias) t("exp_probs_b.bias", {e}, R::ffn_selection_bias, K::vector);
    t("ffn_gate_exps.weight", {d, ff, e}, R::ffn_gate_exps, K::experts);
    t("ffn_up_exps.weight", {d, ff, e}, R::ffn_up_exps, K::experts);
    t("ffn_down_exps.weight", {ff, d, e}, R::ffn_down_exps, K::experts);
    if (c.expert_biases) {
      t("ffn_gate_inp.bias", {e}, R::ffn_router_bias, K::vector);
      t("ffn_gate_exps.bias", {ff, e}, R::ffn_gate_exps_bias, K::vector);
      t("ffn_up_exps.bias", {ff, e}, R::ffn_up_exps_bias, K::vector);
      t("ffn_down_exps.bias", {d, e}, R::ffn_down_exps_bias, K::vector);
    }
    if (c.has_shared_expert) {
      const uint64_t shared = uint64_t(c.n_ff_shexp);
      if (find_arch(c.arch)->shared_expert_gated) t("ffn_gate_inp_shexp.weight", {d}, R::ffn_gate_inp_shexp, K::vector);
      t("ffn_gate_shexp.weight", {d, shared}, R::ffn_gate_shexp, K::matrix);
      t("ffn_up_shexp.weight", {d, shared}, R::ffn_up_shexp, K::matrix);
      t("ffn_down_shexp.weight", {shared, d}, R::ffn_down_shexp, K::matrix);
    }
  } else {
    const uint64_t ff = uint64_t(c.n_ff);
    t("ffn_gate.weight", {d, ff}, R::ffn_gate, K::matrix);
    t("ffn_up.weight", {d, ff}, R::ffn_up, K::matrix);
    t("ffn_down.weight", {ff, d}, R::ffn_down, K::matrix);
  }
}

}  // namespace

void for_each_tensor(const ModelConfig& c, const std::function<void(const TensorSpec&)>& fn) {
  const uint64_t d = uint64_t(c.n_embd), vocab = uint64_t(c.n_vocab);
  fn({"token_embd.weight", {d, vocab}, R::token_embd, K::matrix, -1});
  fn({"output_norm.weight", {d}, R::output_norm, K::norm, -1});
  if (!c.tied_output) fn({"output.weight", {d, vocab}, R::output, K::matrix, -1});
  if (c.rope_freqs) fn({"rope_freqs.weight", {uint64_t(c.n_rot / 2)}, R::rope_freqs, K::vector, -1});

  for (int i = 0; i < c.n_layer; ++i) {
    const BlockTensors t{fn, i};
    t("attn_norm.weight", {d}, R::attn_norm, K::norm);
    if (c.is_recurrent(i))
      delta_net_tensors(c, t);
    else if (c.mla())
      mla_tensors(c, t);
    else
      attention_tensors(c, t);
    ffn_tensors(c, t);
  }
}

}  // namespace s1
