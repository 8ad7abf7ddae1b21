#include "model/tensors.h"

#include <fmt/format.h>

namespace s1 {

uint64_t TensorSpec::n_elements() const {
  uint64_t n = 1;
  for (uint64_t d : shape) n *= d;
  return n;
}

void for_each_tensor(const ModelConfig& c, const std::function<void(const TensorSpec&)>& fn) {
  using R = TensorRole;
  using K = TensorKind;
  const uint64_t d = uint64_t(c.n_embd), q = uint64_t(c.q_dim()), kv = uint64_t(c.kv_dim()),
                 vocab = uint64_t(c.n_vocab), hd = uint64_t(c.head_dim);
  fn({"token_embd.weight", {d, vocab}, R::token_embd, K::matrix, -1});
  fn({"output_norm.weight", {d}, R::output_norm, K::norm, -1});
  if (!c.tied_output) fn({"output.weight", {d, vocab}, R::output, K::matrix, -1});
  if (c.rope_freqs) fn({"rope_freqs.weight", {uint64_t(c.n_rot / 2)}, R::rope_freqs, K::vector, -1});

  for (int i = 0; i < c.n_layer; ++i) {
    auto t = [&](const char* name, std::vector<uint64_t> shape, R role, K kind) {
      fn({fmt::format("blk.{}.{}", i, name), std::move(shape), role, kind, i});
    };
    t("attn_norm.weight", {d}, R::attn_norm, K::norm);
    t("attn_q.weight", {d, q}, R::attn_q, K::matrix);
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
    t("ffn_norm.weight", {d}, R::ffn_norm, K::norm);
    if (c.moe()) {
      const uint64_t e = uint64_t(c.n_expert), ff = uint64_t(c.n_ff_exp);
      t("ffn_gate_inp.weight", {d, e}, R::ffn_router, K::router);
      t("ffn_gate_exps.weight", {d, ff, e}, R::ffn_gate_exps, K::experts);
      t("ffn_up_exps.weight", {d, ff, e}, R::ffn_up_exps, K::experts);
      t("ffn_down_exps.weight", {ff, d, e}, R::ffn_down_exps, K::experts);
    } else {
      const uint64_t ff = uint64_t(c.n_ff);
      t("ffn_gate.weight", {d, ff}, R::ffn_gate, K::matrix);
      t("ffn_up.weight", {d, ff}, R::ffn_up, K::matrix);
      t("ffn_down.weight", {ff, d}, R::ffn_down, K::matrix);
    }
  }
}

}  // namespace s1
