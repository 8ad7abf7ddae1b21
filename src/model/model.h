#pragma once
// A transformer language model read from a GGUF file: its configuration and
// its weights, used in place from the file's memory map (no dequantized copy).
//
// The supported architectures (model/config.h) are one decoder-only
// transformer with different switches — q/k/v biases, per-head q/k RMS norms,
// an attention output gate, rope style and frequency factors, tied output, a
// dense or mixture-of-experts feed-forward, Gated DeltaNet layers in place of
// some attention layers — so an architecture is a ModelConfig, not a class. Loading
// walks the tensor list of model/tensors.h, checks every tensor's presence,
// shape and type and throws s1::Error naming the file and the problem.
//
//   auto model = s1::Model::load("qwen2.5-0.5b-q4_k_m.gguf");
//   s1::Context ctx(*model, {.n_ctx = 4096});      // see model/context.h
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "model/config.h"
#include "model/tensors.h"
#include "tensor/matmul.h"
#include "tensor/ops.h"

namespace s1 {

// n matrices of one shape stored back to back (a 3-D GGUF tensor).
struct ExpertMatrices {
  WeightMatrix first;      // expert 0
  size_t expert_bytes = 0;  // from one expert's matrix to the next
  WeightMatrix expert(int e) const {
    WeightMatrix w = first;
    w.data += size_t(e) * expert_bytes;
    return w;
  }
};

// A Gated DeltaNet layer's weights (qwen35's linear attention).
struct DeltaNetWeights {
  WeightMatrix qkv;          // n_embd -> q | k | v (before the convolution)
  WeightMatrix gate;         // n_embd -> value dims: z of the gated output norm
  WeightMatrix beta, alpha;  // n_embd -> value heads
  WeightMatrix out;          // value dims -> n_embd
  std::vector<float> conv;     // [kernel taps][conv dims] (the file's [conv dims][taps], turned at load)
  std::vector<float> dt_bias;  // per value head
  std::vector<float> decay;    // per value head, negative
  std::vector<float> norm;     // per dimension of a value head
};

// The expert every token of a qwen35moe layer takes beside its routed ones.
struct SharedExpertWeights {
  std::vector<float> gate_inp;  // n_embd: the token's weight is sigmoid(gate_inp · x)
  WeightMatrix gate, up, down;
};

// A multi-head latent attention layer's weights beside wq (plain q) and wo (deepseek2).
struct MlaWeights {
  WeightMatrix q_a, q_b;          // q through the q_lora_rank bottleneck (when the model has one)
  std::vector<float> q_a_norm;    // q_lora_rank
  WeightMatrix kv_a;              // n_embd -> latent | rope key
  std::vector<float> kv_a_norm;   // kv_lora_rank
  ExpertMatrices k_b, v_b;        // per head: no-rope q -> latent, latent -> value
};

// gpt-oss's biases of the router and of every expert's matrices, expert e's at e · rows.
struct ExpertBiases {
  std::vector<float> router;  // n_expert
  std::vector<float> selection;  // n_expert: DeepSeek-V3's exp_probs_b, for choosing only
  std::vector<float> gate, up;  // n_expert × n_ff_exp
  std::vector<float> down;      // n_expert × n_embd
};

// One transformer block's weights. Matrices point into the mapped file; the
// small vectors (norm weights, biases) are converted to f32 copies.
struct LayerWeights {
  std::vector<float> attn_norm;
  WeightMatrix wq, wk, wv, wo;
  std::vector<float> bq, bk, bv;      // empty unless config.qkv_bias
  std::vector<float> q_norm, k_norm;  // head_dim each; empty unless config.qk_norm
  std::vector<float> bo;              // empty unless config.attn_output_bias
  std::vector<float> sinks;           // per head; empty unless config.attn_sinks
  std::vector<float> ffn_norm;
  WeightMatrix w_gate, w_up, w_down;  // dense feed-forward
  // Mixture of experts: the router (F32 [n_expert × n_embd]) and the experts'
  // gate, up and down matrices, each expert's in the file's type.
  WeightMatrix router;
  ExpertMatrices gate_exps, up_exps, down_exps;
  ExpertBiases expert_biases;         // set when config.expert_biases
  SharedExpertWeights shared_expert;  // set when config.has_shared_expert
  DeltaNetWeights delta;  // set on recurrent layers instead of wq..wo
  MlaWeights mla;         // set when config.mla()
};

class Model {
 public:
  // Opens, validates and maps a GGUF model file.
  static std::unique_ptr<Model> load(const std::string& path);
  // The same from a parsed file (tests build models in memory).
  static std::unique_ptr<Model> from_file(gguf::File file);

  const ModelConfig& config() const { return config_; }
  const gguf::File& file() const { return file_; }
  const std::string& path() const { return file_.path(); }

  const WeightMatrix& token_embd() const { return token_embd_; }
  const std::vector<LayerWeights>& layers() const { return layers_; }
  const std::vector<float>& output_norm() const { return output_norm_; }
  const WeightMatrix& output() const { return output_; }                       // token_embd when tied
  const std::vector<float>& rope_freq_factors() const { return rope_freqs_; }  // empty when absent

  // Bytes of weights one decode step of one token reads: every matrix once
  // (the embedding lookup reads a single row; of the experts, the used
  // ones). The numerator of the decode efficiency.
  uint64_t weight_bytes_per_step() const;

 private:
  explicit Model(gguf::File file);
  void bind(const TensorSpec& spec, const gguf::TensorInfo& tensor);
  gguf::File file_;
  ModelConfig config_;
  WeightMatrix token_embd_;
  std::vector<LayerWeights> layers_;
  std::vector<float> output_norm_;
  WeightMatrix output_;
  std::vector<float> rope_freqs_;
};

}  // namespace s1
