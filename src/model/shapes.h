#pragma once
// Transformer shapes: the per-architecture constants llama.cpp assumes
// (biases, q/k norms, rope, epsilon) and the real model sizes `s1 mkmodel`
// can imitate with random weights.
#include <optional>
#include <span>
#include <string_view>

namespace s1 {

struct ArchTraits {
  std::string_view arch;    // general.architecture
  bool qkv_bias;            // attn_q/k/v.bias (qwen2)
  bool qk_norm;             // attn_q_norm/attn_k_norm per head (qwen3)
  std::string_view rope;    // "neox" (rotate halves) or "normal" (rotate pairs), as llama.cpp picks per arch
  double rope_theta;        // default rope.freq_base
  double rms_eps;           // default attention.layer_norm_rms_epsilon
};
// nullopt for an architecture the engine does not know.
std::optional<ArchTraits> arch_traits(std::string_view arch);
std::span<const ArchTraits> known_archs();

struct ModelShape {
  std::string_view name;  // "qwen2.5-0.5b"
  std::string_view arch;
  int n_layers;
  int n_embd;
  int n_heads;
  int n_kv_heads;
  int head_dim;  // embd / heads unless the architecture decouples them (qwen3)
  int n_ff;
  bool tied_output;
  int context_length;
  double rope_theta;
};
const ModelShape* find_model_shape(std::string_view name);
std::span<const ModelShape> model_shapes();

}  // namespace s1
