#include "train/weights.h"

#include <fmt/ranges.h>

#include <cmath>
#include <cstring>

#include "model/tensors.h"
#include "tensor/quant.h"
#include "util/error.h"

namespace s1::train {

WeightMatrix Tensor::matrix() const {
  WeightMatrix w;
  w.type = DType::F32;
  w.data = reinterpret_cast<const uint8_t*>(value_.data());
  w.rows = rows();
  w.cols = cols();
  w.row_stride = size_t(cols()) * sizeof(float);
  return w;
}

Tensor& Weights::add(std::string name, std::vector<uint64_t> shape) {
  auto t = std::make_unique<Tensor>();
  t->name = std::move(name);
  t->shape = std::move(shape);
  uint64_t n = 1;
  for (uint64_t d : t->shape) n *= d;
  t->assign_zeros(n);
  tensors_.push_back(std::move(t));
  return *tensors_.back();
}

Tensor* Weights::find(const std::string& name) {
  for (auto& t : tensors_)
    if (t->name == name) return t.get();
  return nullptr;
}

void Weights::add_model_tensors(const std::function<void(const TensorSpec&, Tensor&)>& fill) {
  const ModelConfig& c = config_;
  if (!find_arch(c.arch)->trainable) {
    std::string trainable;
    for (const auto& a : architectures())
      if (a.trainable) trainable += fmt::format("{}{}", trainable.empty() ? "" : ", ", a.name);
    fail("training does not support the {} architecture yet (it trains {})", c.arch, trainable);
  }
  layers_.assign(size_t(c.n_layer), {});
  for_each_tensor(c, [&](const TensorSpec& spec) {
    if (spec.role == TensorRole::rope_freqs) return;  // a fixed property of the model, kept in rope_freqs_
    Tensor& t = add(spec.name, spec.shape);
    fill(spec, t);
    t.grad.assign(t.value().size(), 0.0f);
    switch (spec.role) {
      case TensorRole::token_embd: token_embd_ = &t; return;
      case TensorRole::output_norm: output_norm_ = &t; return;
      case TensorRole::output: output_ = &t; return;
      default: with_layer_slot(layers_[size_t(spec.layer)], spec.role, [&](Tensor*& slot) { slot = &t; });
    }
  });
}

Weights Weights::from_gguf(const gguf::File& file) {
  auto model = Model::from_file(file);  // validates names, shapes and types like inference does
  Weights w;
  w.config_ = model->config();
  w.rope_freqs_ = model->rope_freq_factors();
  w.add_model_tensors([&](const TensorSpec& spec, Tensor& t) {
    const gguf::TensorInfo* info = file.find_tensor(spec.name);
    const int64_t rows = int64_t(spec.n_elements()) / spec.cols(), cols = spec.cols();
    const size_t stride = row_bytes(info->type, uint64_t(cols));
    float* values = t.values_for_update().data();
    for (int64_t r = 0; r < rows; ++r) dequantize_row(info->type, info->data + size_t(r) * stride, values + r * cols, cols);
  });
  return w;
}

Weights Weights::random(const ModelConfig& config, uint64_t seed, float stddev) {
  Weights w;
  w.config_ = config;
  uint64_t state = seed * 0x9e3779b97f4a7c15ull + 1;
  auto next = [&state] {  // splitmix64
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  };
  auto uniform = [&] { return double((next() >> 11) + 1) * 0x1.0p-53; };
  w.add_model_tensors([&](const TensorSpec& spec, Tensor& t) {
    for (float& x : t.values_for_update()) {
      const double gauss = std::sqrt(-2.0 * std::log(uniform())) * std::cos(2.0 * M_PI * uniform());
      x = spec.kind == TensorKind::norm ? 1.0f + float(gauss) * stddev : float(gauss) * stddev;
    }
  });
  return w;
}

int64_t Weights::parameter_count() const {
  int64_t n = 0;
  for (const auto& t : tensors_) n += t->size();
  return n;
}

int64_t Weights::trainable_count() const {
  int64_t n = 0;
  for (const auto& t : tensors_)
    if (t->trainable) n += t->size();
  return n;
}

void Weights::zero_grad() {
  for (auto& t : tensors_) std::fill(t->grad.begin(), t->grad.end(), 0.0f);
}

namespace {

bool is_lora(const Tensor& t) { return t.name.ends_with(".lora_a") || t.name.ends_with(".lora_b"); }

}  // namespace

void Weights::add_lora(int rank, float alpha, uint64_t seed) {
  if (rank <= 0) fail("--lora-rank {} is not positive", rank);
  if (lora_rank_ > 0) fail("the model already has LoRA adapters of rank {}", lora_rank_);
  std::vector<Tensor*> targets;
  for (auto& l : layers_)
    for (Tensor* t : {l.wq, l.wk, l.wv, l.wo, l.w_gate, l.w_up, l.w_down}) targets.push_back(t);
  for (auto& t : tensors_) t->trainable = false;
  uint64_t state = seed ^ 0x5851f42d4c957f2dull;
  auto next = [&state] {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  };
  auto uniform = [&] { return double((next() >> 11) + 1) * 0x1.0p-53; };
  for (Tensor* t : targets) {
    const std::string name = t->name;
    const uint64_t rows = uint64_t(t->rows()), cols = uint64_t(t->cols());
    Tensor& a = add(name + ".lora_a", {cols, uint64_t(rank)});
    Tensor& b = add(name + ".lora_b", {uint64_t(rank), rows});
    const double stddev = 1.0 / std::sqrt(double(cols));
    for (float& x : a.values_for_update()) x = float(std::sqrt(-2.0 * std::log(uniform())) * std::cos(2.0 * M_PI * uniform()) * stddev);
    a.grad.assign(a.value().size(), 0.0f);
    b.grad.assign(b.value().size(), 0.0f);
    t->lora_a = &a;
    t->lora_b = &b;
    t->lora_scale = alpha / float(rank);
  }
  lora_rank_ = rank;
  lora_alpha_ = alpha;
}

void Weights::load_lora(const gguf::File& file) {
  const auto alpha = file.get_float("adapter.lora.alpha");
  if (!alpha) fail("{}: no adapter.lora.alpha; not a LoRA adapter", file.path());
  const gguf::TensorInfo* first = file.find_tensor(layers_.at(0).wq->name + ".lora_a");
  if (!first || first->shape.size() != 2) fail("{}: no tensor '{}.lora_a'", file.path(), layers_.at(0).wq->name);
  const int rank = int(first->shape[1]);
  if (lora_rank_ == 0) add_lora(rank, float(*alpha), 0);
  if (rank != lora_rank_ || float(*alpha) != lora_alpha_)
    fail("{}: the adapter has rank {} and alpha {}, but this run uses rank {} and alpha {}", file.path(), rank, *alpha,
         lora_rank_, lora_alpha_);
  for (auto& t : tensors_) {
    if (!is_lora(*t)) continue;
    const gguf::TensorInfo* info = file.find_tensor(t->name);
    if (!info || info->type != DType::F32 || info->shape != t->shape)
      fail("{}: tensor '{}' is missing or not F32 of shape [{}]", file.path(), t->name, fmt::join(t->shape, ", "));
    const std::span<float> values = t->values_for_update();
    std::memcpy(values.data(), info->data, values.size() * sizeof(float));
  }
}

void Weights::merge_lora() {
  for (auto& t : tensors_) {
    if (!t->lora_a) continue;
    const Tensor &a = *t->lora_a, &b = *t->lora_b;
    const int64_t rows = t->rows(), cols = t->cols(), r = a.rows();
    const std::span<float> values = t->values_for_update();
    for (int64_t i = 0; i < rows; ++i) {
      float* w = &values[size_t(i * cols)];
      for (int64_t k = 0; k < r; ++k) {
        const float f = t->lora_scale * b.value()[size_t(i * r + k)];
        const float* ak = &a.value()[size_t(k * cols)];
        for (int64_t c = 0; c < cols; ++c) w[c] += f * ak[c];
      }
    }
    t->lora_a = t->lora_b = nullptr;
  }
  std::erase_if(tensors_, [](const std::unique_ptr<Tensor>& t) { return is_lora(*t); });
  lora_rank_ = 0;
}

void Weights::add_lora_to(gguf::Writer& writer) const {
  using gguf::Value;
  writer.set("general.architecture", Value{config_.arch});
  writer.set("general.type", Value{std::string("adapter")});
  writer.set("adapter.type", Value{std::string("lora")});
  writer.set("adapter.lora.alpha", Value{lora_alpha_});
  for (const auto& t : tensors_)
    if (is_lora(*t))
      writer.add_tensor_view(t->name, DType::F32, t->shape,
                             {reinterpret_cast<const uint8_t*>(t->value().data()), t->value().size() * sizeof(float)});
}

void Weights::add_to(gguf::Writer& writer, const gguf::File* base, bool with_lora) const {
  using gguf::Value;
  const ModelConfig& c = config_;
  if (base)
    for (const auto& [k, v] : base->metadata())
      if (k != "general.alignment" && !k.starts_with("train.")) writer.set(k, v);
  write_model_config(c, writer);
  writer.set("general.file_type", Value{uint32_t(0)});  // all F32
  for (const auto& t : tensors_)
    if (with_lora || !is_lora(*t))
      writer.add_tensor_view(t->name, DType::F32, t->shape,
                             {reinterpret_cast<const uint8_t*>(t->value().data()), t->value().size() * sizeof(float)});
  if (with_lora && lora_rank_ > 0) writer.set("adapter.lora.alpha", Value{lora_alpha_});
  if (!rope_freqs_.empty())
    writer.add_tensor_view("rope_freqs.weight", DType::F32, {uint64_t(rope_freqs_.size())},
                           {reinterpret_cast<const uint8_t*>(rope_freqs_.data()), rope_freqs_.size() * 4});
}

}  // namespace s1::train
