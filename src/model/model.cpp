#include "model/model.h"

#include <fmt/format.h>

#include "model/tensors.h"
#include "tensor/quant.h"
#include "util/error.h"
#include "util/log.h"
#include "util/mmap.h"

namespace s1 {

namespace {

constexpr const char* kWeightTypes = "f32, f16, bf16, q8_0, q4_0, q5_0, mxfp4, q4_K, q5_K, q6_K";

const gguf::TensorInfo& require_tensor(const gguf::File& file, const std::string& name) {
  const auto* t = file.find_tensor(name);
  if (!t) fail("{}: tensor '{}' is missing", file.path(), name);
  return *t;
}

// A small vector (norm weight, bias) as f32.
// (The shape was checked against the tensor list.)
std::vector<float> vector_f32(const gguf::File& file, const gguf::TensorInfo& t, int64_t n) {
  if (!quant_supported(t.type) || n % traits(t.type).block_elems != 0)
    fail("{}: tensor '{}' has type {}, which is not supported for a vector", file.path(), t.name,
         dtype_name(t.type));
  std::vector<float> out(static_cast<size_t>(n));
  dequantize_row(t.type, t.data, out.data(), n);
  return out;
}

}  // namespace

Model::Model(gguf::File file) : file_(std::move(file)), config_(read_model_config(file_)) {
  const auto& c = config_;
  layers_.resize(size_t(c.n_layer));
  for_each_tensor(c, [&](const TensorSpec& spec) { bind(spec, require_tensor(file_, spec.name)); });
  if (!quant_supported(token_embd_.type))
    fail("{}: token_embd.weight has type {} (supported: {})", file_.path(), dtype_name(token_embd_.type),
         kWeightTypes);
  if (c.tied_output) output_ = token_embd_;
  // The convolution runs over contiguous channels one tap at a time.
  for (int i = 0; i < c.n_layer; ++i) {
    if (!c.is_recurrent(i)) continue;
    std::vector<float>& conv = layers_[size_t(i)].delta.conv;
    const size_t taps = size_t(c.ssm_conv_kernel), channels = size_t(c.delta_conv_dim());
    std::vector<float> by_tap(conv.size());
    for (size_t ch = 0; ch < channels; ++ch)
      for (size_t k = 0; k < taps; ++k) by_tap[k * channels + ch] = conv[ch * taps + k];
    conv = std::move(by_tap);
  }
  log_debug("{}: {} with {} layers, embd {}, {} heads ({} kv, dim {}), ff {}, {} experts ({} used), vocab {}",
            file_.path(), c.arch, c.n_layer, c.n_embd, c.n_head, c.n_head_kv, c.head_dim,
            c.moe() ? c.n_ff_exp : c.n_ff, c.n_expert, c.n_expert_used, c.n_vocab);
}

// Puts one tensor of the list (model/tensors.h) into its slot, after checking
// its shape and type.
void Model::bind(const TensorSpec& spec, const gguf::TensorInfo& t) {
  const gguf::File& f = file_;
  if (t.shape != spec.shape) {
    // A 3-D expert tensor or the router that disagrees in its last dimension
    // contradicts the expert count, the likeliest wrong key.
    const bool experts = spec.kind == TensorKind::experts || spec.kind == TensorKind::router;
    const std::string hint =
        experts && t.shape.size() == spec.shape.size() && t.shape.back() != spec.shape.back()
            ? fmt::format(" ({}.expert_count is {})", config_.arch, config_.n_expert)
            : "";
    fail("{}: tensor '{}' has shape [{}] but the model config needs [{}]{}", f.path(), t.name,
         fmt::join(t.shape, ", "), fmt::join(spec.shape, ", "), hint);
  }
  auto matrix = [&] {
    if (!matmul_supports(t.type))
      fail("{}: tensor '{}' has weight type {}, which the engine does not compute with (supported: {})", f.path(),
           t.name, dtype_name(t.type), kWeightTypes);
    return WeightMatrix{t.type, t.data, spec.rows(), spec.cols(), row_bytes(t.type, uint64_t(spec.cols()))};
  };
  auto experts = [&] {
    WeightMatrix first = matrix();
    return ExpertMatrices{first, size_t(first.rows) * first.row_stride};
  };
  auto vector = [&] { return vector_f32(f, t, int64_t(spec.n_elements())); };
  switch (spec.role) {
    case TensorRole::token_embd: token_embd_ = matrix(); return;
    case TensorRole::output_norm: output_norm_ = vector(); return;
    case TensorRole::output: output_ = matrix(); return;
    case TensorRole::rope_freqs: rope_freqs_ = vector(); return;
    default: break;
  }
  with_layer_slot(layers_[size_t(spec.layer)], spec.role, [&](auto& slot) {
    using Slot = std::decay_t<decltype(slot)>;
    if constexpr (std::is_same_v<Slot, WeightMatrix>)
      slot = matrix();
    else if constexpr (std::is_same_v<Slot, ExpertMatrices>)
      slot = experts();
    else
      slot = vector();
  });
}

std::unique_ptr<Model> Model::load(const std::string& path) {
  // The model keeps its file for the weights; a tokenizer reads the vocabulary
  // from a file of its own (Tokenizer::load).
  auto model = from_file(gguf::File::open(path, gguf::Metadata::small));
  const uint64_t ram = physical_memory_bytes();
  if (ram > 0 && model->file().file_size() > ram)
    log_warn("{}: the model ({:.1f} GiB) is larger than this machine's memory ({:.1f} GiB); it is mapped, "
             "not loaded, so it runs, but weights stream from disk on every step",
             path, model->file().file_size() / 1073741824.0, ram / 1073741824.0);
  return model;
}

std::unique_ptr<Model> Model::from_file(gguf::File file) {
  return std::unique_ptr<Model>(new Model(std::move(file)));
}

uint64_t Model::weight_bytes_per_step() const {
  auto bytes = [](const WeightMatrix& w) { return uint64_t(w.rows) * w.row_stride; };
  const uint64_t used = uint64_t(config_.n_expert_used);
  uint64_t total = bytes(output_) + token_embd_.row_stride;
  for (const auto& l : layers_)
    total += bytes(l.wq) + bytes(l.wk) + bytes(l.wv) + bytes(l.wo) + bytes(l.w_gate) + bytes(l.w_up) +
             bytes(l.w_down) + bytes(l.router) +
             used * (l.gate_exps.expert_bytes + l.up_exps.expert_bytes + l.down_exps.expert_bytes) +
             bytes(l.delta.qkv) + bytes(l.delta.gate) + bytes(l.delta.beta) + bytes(l.delta.alpha) +
             bytes(l.delta.out) + bytes(l.shared_expert.gate) + bytes(l.shared_expert.up) +
             bytes(l.shared_expert.down) + bytes(l.mla.q_a) + bytes(l.mla.q_b) + bytes(l.mla.kv_a) +
             uint64_t(config_.n_head) * (l.mla.k_b.expert_bytes + l.mla.v_b.expert_bytes);
  return total;
}

}  // namespace s1
