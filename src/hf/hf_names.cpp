#include "hf/hf_names.h"

#include <fmt/format.h>

#include <array>

#include "util/error.h"

namespace s1::hf {
namespace {

using R = TensorRole;

constexpr std::array<HfArch, 4> kArchs = {{
    {"qwen2", "qwen2", "Qwen2ForCausalLM"},
    {"qwen3", "qwen3", "Qwen3ForCausalLM"},
    {"llama", "llama", "LlamaForCausalLM"},
    {"qwen3moe", "qwen3_moe", "Qwen3MoeForCausalLM"},
}};

// The transformers names these four architectures share; "{layer}" and
// "{expert}" are filled in.
struct RoleName {
  R role;
  std::string_view name;
};
constexpr RoleName kNames[] = {
    {R::token_embd, "model.embed_tokens.weight"},
    {R::output_norm, "model.norm.weight"},
    {R::output, "lm_head.weight"},
    {R::attn_norm, "model.layers.{layer}.input_layernorm.weight"},
    {R::attn_q, "model.layers.{layer}.self_attn.q_proj.weight"},
    {R::attn_k, "model.layers.{layer}.self_attn.k_proj.weight"},
    {R::attn_v, "model.layers.{layer}.self_attn.v_proj.weight"},
    {R::attn_q_bias, "model.layers.{layer}.self_attn.q_proj.bias"},
    {R::attn_k_bias, "model.layers.{layer}.self_attn.k_proj.bias"},
    {R::attn_v_bias, "model.layers.{layer}.self_attn.v_proj.bias"},
    {R::attn_q_norm, "model.layers.{layer}.self_attn.q_norm.weight"},
    {R::attn_k_norm, "model.layers.{layer}.self_attn.k_norm.weight"},
    {R::attn_output, "model.layers.{layer}.self_attn.o_proj.weight"},
    {R::ffn_norm, "model.layers.{layer}.post_attention_layernorm.weight"},
    {R::ffn_gate, "model.layers.{layer}.mlp.gate_proj.weight"},
    {R::ffn_up, "model.layers.{layer}.mlp.up_proj.weight"},
    {R::ffn_down, "model.layers.{layer}.mlp.down_proj.weight"},
    {R::ffn_router, "model.layers.{layer}.mlp.gate.weight"},
    {R::ffn_gate_exps, "model.layers.{layer}.mlp.experts.{expert}.gate_proj.weight"},
    {R::ffn_up_exps, "model.layers.{layer}.mlp.experts.{expert}.up_proj.weight"},
    {R::ffn_down_exps, "model.layers.{layer}.mlp.experts.{expert}.down_proj.weight"},
};

}  // namespace

const HfArch* find_hf_arch_by_model_type(std::string_view model_type) {
  for (const auto& a : kArchs)
    if (a.model_type == model_type) return &a;
  return nullptr;
}

const HfArch* find_hf_arch(std::string_view arch) {
  for (const auto& a : kArchs)
    if (a.arch == arch) return &a;
  return nullptr;
}

std::string hf_architectures() {
  std::string names;
  for (const auto& a : kArchs) names += fmt::format("{}{}", names.empty() ? "" : ", ", a.arch);
  return names;
}

std::string hf_model_types() {
  std::string names;
  for (const auto& a : kArchs) names += fmt::format("{}{}", names.empty() ? "" : ", ", a.model_type);
  return names;
}

std::vector<std::string> hf_tensor_names(const TensorSpec& spec) {
  if (spec.role == R::rope_freqs) return {};
  for (const auto& n : kNames) {
    if (n.role != spec.role) continue;
    if (spec.kind != TensorKind::experts) return {fmt::format(fmt::runtime(n.name), fmt::arg("layer", spec.layer))};
    std::vector<std::string> names;
    for (uint64_t e = 0; e < spec.shape.back(); ++e)
      names.push_back(fmt::format(fmt::runtime(n.name), fmt::arg("layer", spec.layer), fmt::arg("expert", e)));
    return names;
  }
  fail("tensor '{}' has no Hugging Face name in s1 (architectures: {})", spec.name, hf_architectures());
}

bool rows_reordered(const ModelConfig& config, const TensorSpec& spec) {
  const bool q_or_k = spec.role == R::attn_q || spec.role == R::attn_k || spec.role == R::attn_q_bias ||
                      spec.role == R::attn_k_bias;
  return q_or_k && config.rope_style == ops::RopeStyle::normal;
}

int reordered_heads(const ModelConfig& config, const TensorSpec& spec) {
  return spec.role == R::attn_q || spec.role == R::attn_q_bias ? config.n_head : config.n_head_kv;
}

}  // namespace s1::hf
