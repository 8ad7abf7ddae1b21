#include "train/weights.h"

#include <fmt/ranges.h>

#include <cmath>
#include <cstring>

#include "tensor/quant.h"
#include "util/error.h"

namespace s1::train {

WeightMatrix Tensor::matrix() const {
  WeightMatrix w;
  w.type = DType::F32;
  w.data = reinterpret_cast<const uint8_t*>(value.data());
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
  t->value.assign(n, 0.0f);
  tensors_.push_back(std::move(t));
  return *tensors_.back();
}

Tensor* Weights::find(const std::string& name) {
  for (auto& t : tensors_)
    if (t->name == name) return t.get();
  return nullptr;
}

void Weights::link() {
  const ModelConfig& c = config_;
  auto must = [&](const std::string& name) {
    Tensor* t = find(name);
    if (!t) fail("training weights: tensor '{}' is missing", name);
    return t;
  };
  token_embd_ = must("token_embd.weight");
  output_norm_ = must("output_norm.weight");
  output_ = c.tied_output ? nullptr : must("output.weight");
  layers_.assign(size_t(c.n_layer), {});
  for (int i = 0; i < c.n_layer; ++i) {
    auto n = [i](const char* what) { return fmt::format("blk.{}.{}", i, what); };
    LayerTensors& l = layers_[size_t(i)];
    l.attn_norm = must(n("attn_norm.weight"));
    l.wq = must(n("attn_q.weight"));
    l.wk = must(n("attn_k.weight"));
    l.wv = must(n("attn_v.weight"));
    l.wo = must(n("attn_output.weight"));
    if (c.qkv_bias) {
      l.bq = must(n("attn_q.bias"));
      l.bk = must(n("attn_k.bias"));
      l.bv = must(n("attn_v.bias"));
    }
    if (c.qk_norm) {
      l.q_norm = must(n("attn_q_norm.weight"));
      l.k_norm = must(n("attn_k_norm.weight"));
    }
    l.ffn_norm = must(n("ffn_norm.weight"));
    l.w_gate = must(n("ffn_gate.weight"));
    l.w_up = must(n("ffn_up.weight"));
    l.w_down = must(n("ffn_down.weight"));
  }
  for (auto& t : tensors_) t->grad.assign(t->value.size(), 0.0f);
}

namespace {

// The tensors of a configuration in GGUF order: (name, cols, rows; rows 0 = vector, is_norm).
struct Spec {
  std::string name;
  uint64_t cols, rows;
  bool norm;
};

std::vector<Spec> tensor_specs(const ModelConfig& c) {
  const uint64_t d = uint64_t(c.n_embd), q = uint64_t(c.q_dim()), kv = uint64_t(c.kv_dim()),
                 ff = uint64_t(c.n_ff), v = uint64_t(c.n_vocab), hd = uint64_t(c.head_dim);
  std::vector<Spec> s = {{"token_embd.weight", d, v, false}, {"output_norm.weight", d, 0, true}};
  if (!c.tied_output) s.push_back({"output.weight", d, v, false});
  for (int i = 0; i < c.n_layer; ++i) {
    auto n = [i](const char* what) { return fmt::format("blk.{}.{}", i, what); };
    s.push_back({n("attn_norm.weight"), d, 0, true});
    s.push_back({n("attn_q.weight"), d, q, false});
    s.push_back({n("attn_k.weight"), d, kv, false});
    s.push_back({n("attn_v.weight"), d, kv, false});
    if (c.qkv_bias) {
      s.push_back({n("attn_q.bias"), q, 0, false});
      s.push_back({n("attn_k.bias"), kv, 0, false});
      s.push_back({n("attn_v.bias"), kv, 0, false});
    }
    if (c.qk_norm) {
      s.push_back({n("attn_q_norm.weight"), hd, 0, true});
      s.push_back({n("attn_k_norm.weight"), hd, 0, true});
    }
    s.push_back({n("attn_output.weight"), q, d, false});
    s.push_back({n("ffn_norm.weight"), d, 0, true});
    s.push_back({n("ffn_gate.weight"), d, ff, false});
    s.push_back({n("ffn_up.weight"), d, ff, false});
    s.push_back({n("ffn_down.weight"), ff, d, false});
  }
  return s;
}

std::vector<uint64_t> shape_of(const Spec& s) {
  return s.rows ? std::vector<uint64_t>{s.cols, s.rows} : std::vector<uint64_t>{s.cols};
}

}  // namespace

Weights Weights::from_gguf(const gguf::File& file) {
  auto model = Model::from_file(file);  // validates names, shapes and types like inference does
  Weights w;
  w.config_ = model->config();
  w.rope_freqs_ = model->rope_freq_factors();
  for (const Spec& s : tensor_specs(w.config_)) {
    const gguf::TensorInfo* info = file.find_tensor(s.name);
    Tensor& t = w.add(s.name, shape_of(s));
    const int64_t rows = s.rows ? int64_t(s.rows) : 1, cols = int64_t(s.cols);
    const size_t stride = row_bytes(info->type, uint64_t(cols));
    for (int64_t r = 0; r < rows; ++r)
      dequantize_row(info->type, info->data + size_t(r) * stride, t.value.data() + r * cols, cols);
  }
  w.link();
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
  for (const Spec& s : tensor_specs(config)) {
    Tensor& t = w.add(s.name, shape_of(s));
    for (float& x : t.value) {
      const double gauss = std::sqrt(-2.0 * std::log(uniform())) * std::cos(2.0 * M_PI * uniform());
      x = s.norm ? 1.0f + float(gauss) * stddev : float(gauss) * stddev;
    }
  }
  w.link();
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
    for (float& x : a.value) x = float(std::sqrt(-2.0 * std::log(uniform())) * std::cos(2.0 * M_PI * uniform()) * stddev);
    a.grad.assign(a.value.size(), 0.0f);
    b.grad.assign(b.value.size(), 0.0f);
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
    std::memcpy(t->value.data(), info->data, t->value.size() * sizeof(float));
    ++t->version;
  }
}

void Weights::merge_lora() {
  for (auto& t : tensors_) {
    if (!t->lora_a) continue;
    const Tensor &a = *t->lora_a, &b = *t->lora_b;
    const int64_t rows = t->rows(), cols = t->cols(), r = a.rows();
    for (int64_t i = 0; i < rows; ++i) {
      float* w = &t->value[size_t(i * cols)];
      for (int64_t k = 0; k < r; ++k) {
        const float f = t->lora_scale * b.value[size_t(i * r + k)];
        const float* ak = &a.value[size_t(k * cols)];
        for (int64_t c = 0; c < cols; ++c) w[c] += f * ak[c];
      }
    }
    t->lora_a = t->lora_b = nullptr;
    ++t->version;
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
                             {reinterpret_cast<const uint8_t*>(t->value.data()), t->value.size() * sizeof(float)});
}

void Weights::add_to(gguf::Writer& writer, const gguf::File* base, bool with_lora) const {
  using gguf::Value;
  const ModelConfig& c = config_;
  const std::string a = c.arch;
  auto key = [&](const char* suffix) { return a + "." + suffix; };
  if (base)
    for (const auto& [k, v] : base->metadata())
      if (k != "general.alignment" && !k.starts_with("train.")) writer.set(k, v);
  writer.set("general.architecture", Value{a});
  writer.set("general.file_type", Value{uint32_t(0)});  // all F32
  writer.set(key("block_count"), Value{uint32_t(c.n_layer)});
  writer.set(key("context_length"), Value{uint32_t(c.n_ctx_train)});
  writer.set(key("embedding_length"), Value{uint32_t(c.n_embd)});
  writer.set(key("feed_forward_length"), Value{uint32_t(c.n_ff)});
  writer.set(key("attention.head_count"), Value{uint32_t(c.n_head)});
  writer.set(key("attention.head_count_kv"), Value{uint32_t(c.n_head_kv)});
  writer.set(key("attention.key_length"), Value{uint32_t(c.head_dim)});
  writer.set(key("attention.value_length"), Value{uint32_t(c.head_dim)});
  writer.set(key("rope.freq_base"), Value{float(c.rope_theta)});
  writer.set(key("rope.dimension_count"), Value{uint32_t(c.n_rot)});
  writer.set(key("attention.layer_norm_rms_epsilon"), Value{c.rms_eps});
  if (c.arch == "llama") writer.set(key("vocab_size"), Value{uint32_t(c.n_vocab)});
  for (const auto& t : tensors_)
    if (with_lora || !is_lora(*t))
      writer.add_tensor_view(t->name, DType::F32, t->shape,
                             {reinterpret_cast<const uint8_t*>(t->value.data()), t->value.size() * sizeof(float)});
  if (with_lora && lora_rank_ > 0) writer.set("adapter.lora.alpha", Value{lora_alpha_});
  if (!rope_freqs_.empty())
    writer.add_tensor_view("rope_freqs.weight", DType::F32, {uint64_t(rope_freqs_.size())},
                           {reinterpret_cast<const uint8_t*>(rope_freqs_.data()), rope_freqs_.size() * 4});
}

}  // namespace s1::train
