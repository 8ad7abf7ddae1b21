#pragma once
// A Hugging Face config.json as a ModelConfig and back, for the
// architectures of hf/hf_names.h. What either side can say that the other
// cannot (HF's sliding windows or partial rotary, our rope factors without
// their recipe, ...) is an s1::Error naming the file and the key, never
// silently dropped.
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "model/config.h"
#include "tensor/dtype.h"

namespace s1::hf {

// Llama 3's rope_scaling (rope_type "llama3"): llama.cpp stores it as the
// per-frequency factors of rope_freqs.weight, which `s1 convert` computes.
struct Llama3Rope {
  double factor = 0, low_freq_factor = 0, high_freq_factor = 0;
  int original_context = 0;
};

struct HfModelConfig {
  ModelConfig config;  // complete (complete_config applied)
  std::optional<Llama3Rope> llama3_rope;
};

// `path` names config.json in errors; `n_vocab` is the embedding's row count
// and `tied` whether lm_head is the embedding (tie_word_embeddings, or no
// lm_head.weight when the file does not say).
HfModelConfig read_hf_config(const nlohmann::json& json, const std::string& path, int n_vocab,
                             bool has_lm_head);

// The rope_freqs.weight factors (one per rotated pair) Llama 3's scaling gives.
std::vector<float> llama3_rope_factors(const ModelConfig& config, const Llama3Rope& rope);

// config.json for `config`; `where` names the source in errors, `dtype` the
// matrices' type (torch_dtype), bos/eos the token ids (-1: none).
nlohmann::json hf_config_json(const ModelConfig& config, const std::string& where, DType dtype, int bos, int eos);

}  // namespace s1::hf
