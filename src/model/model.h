#pragma once
// A transformer language model read from a GGUF file: its configuration and
// its weights, used in place from the file's memory map (no dequantized copy).
//
// The supported architectures (qwen2, qwen3, llama) are one decoder-only
// transformer with different switches — q/k/v biases, per-head q/k RMS norms,
// rope style and frequency factors, tied output — so an architecture is a
// ModelConfig, not a class. Loading checks every tensor's presence, shape and
// type and throws s1::Error naming the file and the problem.
//
//   auto model = s1::Model::load("qwen2.5-0.5b-q4_k_m.gguf");
//   s1::Context ctx(*model, {.n_ctx = 4096});      // see model/context.h
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "tensor/matmul.h"
#include "tensor/ops.h"

namespace s1 {

struct ModelConfig {
  std::string arch;  // "qwen2", "qwen3" or "llama"
  int n_layer = 0;
  int n_embd = 0;
  int n_head = 0;
  int n_head_kv = 0;  // < n_head: grouped-query attention (1: multi-query)
  int head_dim = 0;   // may differ from n_embd / n_head (qwen3)
  int n_ff = 0;
  int n_vocab = 0;
  int n_ctx_train = 0;  // the context length the model was trained for
  float rms_eps = 1e-6f;

  ops::RopeStyle rope_style = ops::RopeStyle::neox;
  int n_rot = 0;  // rotated dimensions per head
  double rope_theta = 10000.0;
  double rope_freq_scale = 1.0;  // 1 / linear scaling factor

  bool qkv_bias = false;     // q/k/v projections have biases (qwen2)
  bool qk_norm = false;      // per-head RMS norm of q and k before rope (qwen3)
  bool tied_output = false;  // the output projection is the token embedding

  int q_dim() const { return n_head * head_dim; }
  int kv_dim() const { return n_head_kv * head_dim; }
};

// The architectures load() accepts, for messages: "qwen2, qwen3, llama".
const char* supported_architectures();

// Reads the configuration from GGUF metadata ({arch}.block_count, ...); the
// vocabulary size comes from token_embd.weight.
ModelConfig read_model_config(const gguf::File& file);

// One transformer block's weights. Matrices point into the mapped file; the
// small vectors (norm weights, biases) are converted to f32 copies.
struct LayerWeights {
  std::vector<float> attn_norm;
  WeightMatrix wq, wk, wv, wo;
  std::vector<float> bq, bk, bv;      // empty unless config.qkv_bias
  std::vector<float> q_norm, k_norm;  // head_dim each; empty unless config.qk_norm
  std::vector<float> ffn_norm;
  WeightMatrix w_gate, w_up, w_down;
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

  // Bytes of weights one decode step reads: every matrix once (the embedding
  // lookup reads a single row). The numerator of the decode efficiency.
  uint64_t weight_bytes_per_step() const;

 private:
  explicit Model(gguf::File file);
  gguf::File file_;
  ModelConfig config_;
  WeightMatrix token_embd_;
  std::vector<LayerWeights> layers_;
  std::vector<float> output_norm_;
  WeightMatrix output_;
  std::vector<float> rope_freqs_;
};

}  // namespace s1
