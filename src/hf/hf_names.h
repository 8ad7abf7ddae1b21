#pragma once
// What Hugging Face calls the things model/config.h and model/tensors.h
// describe, for the architectures `s1 convert` and `s1 export-hf` carry:
// the model_type and class of config.json, and each tensor's name. The
// tensors themselves (which exist, their shapes) still come from
// for_each_tensor alone; this file only names them the transformers way.
#include <string>
#include <string_view>
#include <vector>

#include "model/tensors.h"

namespace s1::hf {

struct HfArch {
  std::string_view arch;        // ours (general.architecture)
  std::string_view model_type;  // config.json's model_type
  std::string_view class_name;  // config.json's architectures[0]
};
// nullptr when the architecture has no Hugging Face mapping here.
const HfArch* find_hf_arch_by_model_type(std::string_view model_type);
const HfArch* find_hf_arch(std::string_view arch);
// For messages: "qwen2, qwen3, llama, qwen3moe" and "qwen2, qwen3, llama, qwen3_moe".
std::string hf_architectures();
std::string hf_model_types();

// The Hugging Face name(s) of a tensor: one, or one per expert for stacked
// expert tensors (HF keeps each expert's matrix apart; expert e is slice e of
// the GGUF tensor's last dimension). Empty for tensors HF derives instead of
// storing (rope_freqs); s1::Error for a role with no HF name here.
std::vector<std::string> hf_tensor_names(const TensorSpec& spec);

// Whether a tensor's rows are stored in another order in HF than in GGUF:
// llama.cpp's converter reorders the rows of q and k (and their biases) of
// models whose rope turns adjacent pairs (RopeStyle::normal: llama), because
// transformers' rope turns the two halves of each head instead. Qwen's rope
// turns halves in both, so nothing is reordered.
bool rows_reordered(const ModelConfig& config, const TensorSpec& spec);
// Heads whose rows are reordered: n_head for q, n_head_kv for k.
int reordered_heads(const ModelConfig& config, const TensorSpec& spec);

}  // namespace s1::hf
