#pragma once
// A model's weights as training holds them: one f32 master copy per tensor
// (whatever the file stored: F16, BF16 and quantized weights are widened
// once), a gradient of the same shape, and whether the tensor trains. Names,
// shapes and layout are the GGUF ones the engine loads (model/model.h), so a
// saved model is a file `s1 run` reads.
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "model/model.h"

namespace s1::train {

struct Tensor {
  std::string name;             // GGUF name, e.g. "blk.0.attn_q.weight"
  std::vector<uint64_t> shape;  // ggml order: shape[0] is the row length
  std::vector<float> grad;
  bool trainable = true;
  // A LoRA adapter on this matrix: W·x + lora_scale · B·(A·x), A = lora_a
  // [r × cols], B = lora_b [rows × r] (the tensors "<name>.lora_a/.lora_b").
  Tensor* lora_a = nullptr;
  Tensor* lora_b = nullptr;
  float lora_scale = 0.0f;

  int64_t rows() const { return shape.size() > 1 ? int64_t(shape[1]) : 1; }
  int64_t cols() const { return int64_t(shape[0]); }
  int64_t size() const { return int64_t(value_.size()); }

  const std::vector<float>& value() const { return value_; }
  // Writing marks the tensor changed, so what is derived from it (the
  // trainer's cached transposes and bf16 copies) is rebuilt at its next use.
  // values_for_update(): the caller writes through the span right away,
  // before anything reads a derived copy.
  std::span<float> values_for_update() {
    ++version_;
    return value_;
  }
  void set(size_t i, float x) {
    value_[i] = x;
    ++version_;
  }
  void assign_zeros(size_t n) {
    value_.assign(n, 0.0f);
    ++version_;
  }
  uint64_t version() const { return version_; }
  // This tensor as a matmul weight (row-major [rows × cols] f32).
  WeightMatrix matrix() const;

 private:
  std::vector<float> value_;
  uint64_t version_ = 0;
};

struct LayerTensors {
  Tensor *attn_norm = nullptr, *wq = nullptr, *wk = nullptr, *wv = nullptr, *wo = nullptr;
  Tensor *bq = nullptr, *bk = nullptr, *bv = nullptr;  // qkv_bias only
  Tensor *q_norm = nullptr, *k_norm = nullptr;         // qk_norm only
  Tensor *ffn_norm = nullptr, *w_gate = nullptr, *w_up = nullptr, *w_down = nullptr;
  // Mixture-of-experts tensors: named so model/tensors.h's slot mapping
  // applies; training refuses those architectures, so they stay null.
  Tensor *router = nullptr, *gate_exps = nullptr, *up_exps = nullptr, *down_exps = nullptr;
};

class Weights {
 public:
  // Every tensor the engine reads, widened to f32 (the file is validated by
  // Model first, so a file training accepts is one inference accepts).
  static Weights from_gguf(const gguf::File& file);
  // Random weights (normal, `stddev`; norms 1) for a configuration: tests and
  // fresh models.
  static Weights random(const ModelConfig& config, uint64_t seed, float stddev = 0.02f);

  Weights(Weights&&) noexcept = default;
  Weights& operator=(Weights&&) noexcept = default;

  const ModelConfig& config() const { return config_; }
  const std::vector<float>& rope_freq_factors() const { return rope_freqs_; }

  Tensor& token_embd() { return *token_embd_; }
  Tensor& output_norm() { return *output_norm_; }
  Tensor& output() { return config_.tied_output ? *token_embd_ : *output_; }  // token_embd when tied
  LayerTensors& layer(int i) { return layers_[size_t(i)]; }
  std::vector<std::unique_ptr<Tensor>>& tensors() { return tensors_; }
  const std::vector<std::unique_ptr<Tensor>>& tensors() const { return tensors_; }
  Tensor* find(const std::string& name);
  int64_t parameter_count() const;
  int64_t trainable_count() const;

  void zero_grad();

  // LoRA: rank-r adapters on every attention and MLP projection (q, k, v,
  // output, gate, up, down); everything else is frozen. A starts random
  // (normal, 1/sqrt(cols)), B at zero, so training starts from the base model.
  void add_lora(int rank, float alpha, uint64_t seed);
  int lora_rank() const { return lora_rank_; }
  float lora_alpha() const { return lora_alpha_; }
  // Copies the adapter tensors (and alpha) from a LoRA GGUF or a checkpoint,
  // adding adapters of its rank first when this model has none.
  void load_lora(const gguf::File& file);
  // W += (alpha / r) · B·A for every adapter, then drops the adapters.
  void merge_lora();
  // The adapter alone (general.type "adapter", adapter.type "lora",
  // adapter.lora.alpha, tensors <name>.lora_a/.lora_b), as llama.cpp names them.
  void add_lora_to(gguf::Writer& writer) const;

  // Adds the model: the architecture keys from config(), every other metadata
  // key of `base` (tokenizer, chat template, name) when given, and the
  // tensors as F32 views of this object (keep it alive until write()).
  // LoRA tensors are included only when `with_lora` (checkpoints).
  void add_to(gguf::Writer& writer, const gguf::File* base, bool with_lora = false) const;

 private:
  Weights() = default;
  Tensor& add(std::string name, std::vector<uint64_t> shape);
  // Adds every tensor of the configuration (model/tensors.h), zero, in its
  // slot, and calls fill(spec, tensor) on each.
  void add_model_tensors(const std::function<void(const TensorSpec&, Tensor&)>& fill);

  ModelConfig config_;
  std::vector<float> rope_freqs_;
  std::vector<std::unique_ptr<Tensor>> tensors_;
  Tensor *token_embd_ = nullptr, *output_norm_ = nullptr, *output_ = nullptr;
  std::vector<LayerTensors> layers_;
  int lora_rank_ = 0;
  float lora_alpha_ = 0.0f;
};

}  // namespace s1::train
