#include "model/model.h"

#include <fmt/format.h>

#include "tensor/quant.h"
#include "util/error.h"
#include "util/log.h"
#include "util/mmap.h"

namespace s1 {

namespace {

constexpr const char* kWeightTypes = "f32, f16, bf16, q8_0, q4_0, q5_0, q4_K, q5_K, q6_K";

// Metadata reads that name the file and key when a required value is missing.
struct Meta {
  const gguf::File& file;
  std::string arch;

  int64_t required_int(const std::string& key) const {
    auto v = file.get_int(arch + "." + key);
    if (!v) fail("{}: metadata key '{}.{}' is missing", file.path(), arch, key);
    return *v;
  }
  int64_t int_or(const std::string& key, int64_t fallback) const {
    return file.get_int(arch + "." + key).value_or(fallback);
  }
  double float_or(const std::string& key, double fallback) const {
    return file.get_float(arch + "." + key).value_or(fallback);
  }
};

int positive(const gguf::File& file, const char* what, int64_t v) {
  if (v <= 0 || v > (int64_t(1) << 30))
    fail("{}: {} is {}, which is not a usable size", file.path(), what, v);
  return int(v);
}

const gguf::TensorInfo& require_tensor(const gguf::File& file, const std::string& name) {
  const auto* t = file.find_tensor(name);
  if (!t) fail("{}: tensor '{}' is missing", file.path(), name);
  return *t;
}

void check_shape(const gguf::File& file, const gguf::TensorInfo& t, std::vector<uint64_t> want) {
  if (t.shape != want)
    fail("{}: tensor '{}' has shape [{}] but the model config needs [{}]", file.path(), t.name,
         fmt::join(t.shape, ", "), fmt::join(want, ", "));
}

// A matrix of `rows` × `cols` used in place from the map.
WeightMatrix matrix(const gguf::File& file, const std::string& name, int64_t rows, int64_t cols) {
  const auto& t = require_tensor(file, name);
  check_shape(file, t, {uint64_t(cols), uint64_t(rows)});
  if (!matmul_supports(t.type))
    fail("{}: tensor '{}' has weight type {}, which the engine does not compute with (supported: {})",
         file.path(), name, dtype_name(t.type), kWeightTypes);
  return WeightMatrix{t.type, t.data, rows, cols, row_bytes(t.type, uint64_t(cols))};
}

// A small vector (norm weight, bias) as f32.
std::vector<float> vector_f32(const gguf::File& file, const gguf::TensorInfo& t, int64_t n) {
  check_shape(file, t, {uint64_t(n)});
  if (!quant_supported(t.type) || n % traits(t.type).block_elems != 0)
    fail("{}: tensor '{}' has type {}, which is not supported for a vector", file.path(), t.name,
         dtype_name(t.type));
  std::vector<float> out(static_cast<size_t>(n));
  dequantize_row(t.type, t.data, out.data(), n);
  return out;
}

std::vector<float> vector_f32(const gguf::File& file, const std::string& name, int64_t n) {
  return vector_f32(file, require_tensor(file, name), n);
}

}  // namespace

const char* supported_architectures() { return "qwen2, qwen3, llama"; }

ModelConfig read_model_config(const gguf::File& file) {
  auto arch = file.get_string("general.architecture");
  if (!arch) fail("{}: metadata key 'general.architecture' is missing", file.path());
  ModelConfig c;
  c.arch = *arch;
  if (c.arch == "qwen2") {
    c.qkv_bias = true;
    c.rope_style = ops::RopeStyle::neox;
  } else if (c.arch == "qwen3") {
    c.qk_norm = true;
    c.rope_style = ops::RopeStyle::neox;
  } else if (c.arch == "llama") {
    c.rope_style = ops::RopeStyle::normal;
  } else {
    fail("{}: architecture '{}' is not supported (supported: {})", file.path(), c.arch,
         supported_architectures());
  }

  const Meta meta{file, c.arch};
  c.n_layer = positive(file, "block_count", meta.required_int("block_count"));
  c.n_embd = positive(file, "embedding_length", meta.required_int("embedding_length"));
  c.n_ff = positive(file, "feed_forward_length", meta.required_int("feed_forward_length"));
  c.n_head = positive(file, "attention.head_count", meta.required_int("attention.head_count"));
  c.n_head_kv = positive(file, "attention.head_count_kv", meta.int_or("attention.head_count_kv", c.n_head));
  if (c.n_head % c.n_head_kv != 0)
    fail("{}: {} attention heads cannot be grouped over {} KV heads", file.path(), c.n_head, c.n_head_kv);
  if (c.n_embd % c.n_head != 0 && !file.get_int(c.arch + ".attention.key_length"))
    fail("{}: embedding length {} is not a multiple of {} heads", file.path(), c.n_embd, c.n_head);
  c.head_dim =
      positive(file, "attention.key_length", meta.int_or("attention.key_length", c.n_embd / c.n_head));
  const int value_dim = int(meta.int_or("attention.value_length", c.head_dim));
  if (value_dim != c.head_dim)
    fail("{}: key length {} differs from value length {}; not supported", file.path(), c.head_dim, value_dim);
  c.n_ctx_train = positive(file, "context_length", meta.int_or("context_length", 4096));
  c.rms_eps = float(meta.float_or("attention.layer_norm_rms_epsilon", 1e-6));
  c.rope_theta = meta.float_or("rope.freq_base", 10000.0);
  c.n_rot = positive(file, "rope.dimension_count", meta.int_or("rope.dimension_count", c.head_dim));
  if (c.n_rot > c.head_dim || c.n_rot % 2 != 0)
    fail("{}: rope dimension count {} does not fit head size {}", file.path(), c.n_rot, c.head_dim);

  auto scaling = file.get_string(c.arch + ".rope.scaling.type");
  if (scaling && *scaling == "linear") {
    double factor = meta.float_or("rope.scaling.factor", 1.0);
    if (factor <= 0) fail("{}: rope scaling factor {} is not positive", file.path(), factor);
    c.rope_freq_scale = 1.0 / factor;
  } else if (scaling && *scaling != "none") {
    fail("{}: rope scaling '{}' is not supported (supported: none, linear)", file.path(), *scaling);
  }

  const auto& embd = require_tensor(file, "token_embd.weight");
  if (embd.shape.size() != 2 || embd.shape[0] != uint64_t(c.n_embd))
    fail("{}: tensor 'token_embd.weight' does not have {} columns", file.path(), c.n_embd);
  c.n_vocab = positive(file, "vocabulary size", int64_t(embd.shape[1]));
  c.tied_output = file.find_tensor("output.weight") == nullptr;
  if (c.arch == "llama" && file.find_tensor("blk.0.attn_q.bias")) c.qkv_bias = true;
  return c;
}

Model::Model(gguf::File file) : file_(std::move(file)), config_(read_model_config(file_)) {
  const auto& c = config_;
  const auto& f = file_;
  token_embd_ = matrix(f, "token_embd.weight", c.n_vocab, c.n_embd);
  if (!quant_supported(token_embd_.type))
    fail("{}: token_embd.weight has type {} (supported: {})", f.path(), dtype_name(token_embd_.type),
         kWeightTypes);
  output_norm_ = vector_f32(f, "output_norm.weight", c.n_embd);
  output_ = c.tied_output ? token_embd_ : matrix(f, "output.weight", c.n_vocab, c.n_embd);
  if (const auto* freqs = f.find_tensor("rope_freqs.weight"))
    rope_freqs_ = vector_f32(f, *freqs, c.n_rot / 2);

  layers_.resize(size_t(c.n_layer));
  for (int i = 0; i < c.n_layer; ++i) {
    auto name = [i](const char* what) { return fmt::format("blk.{}.{}", i, what); };
    LayerWeights& l = layers_[size_t(i)];
    l.attn_norm = vector_f32(f, name("attn_norm.weight"), c.n_embd);
    l.wq = matrix(f, name("attn_q.weight"), c.q_dim(), c.n_embd);
    l.wk = matrix(f, name("attn_k.weight"), c.kv_dim(), c.n_embd);
    l.wv = matrix(f, name("attn_v.weight"), c.kv_dim(), c.n_embd);
    l.wo = matrix(f, name("attn_output.weight"), c.n_embd, c.q_dim());
    if (c.qkv_bias) {
      l.bq = vector_f32(f, name("attn_q.bias"), c.q_dim());
      l.bk = vector_f32(f, name("attn_k.bias"), c.kv_dim());
      l.bv = vector_f32(f, name("attn_v.bias"), c.kv_dim());
    }
    if (c.qk_norm) {
      l.q_norm = vector_f32(f, name("attn_q_norm.weight"), c.head_dim);
      l.k_norm = vector_f32(f, name("attn_k_norm.weight"), c.head_dim);
    }
    l.ffn_norm = vector_f32(f, name("ffn_norm.weight"), c.n_embd);
    l.w_gate = matrix(f, name("ffn_gate.weight"), c.n_ff, c.n_embd);
    l.w_up = matrix(f, name("ffn_up.weight"), c.n_ff, c.n_embd);
    l.w_down = matrix(f, name("ffn_down.weight"), c.n_embd, c.n_ff);
  }
  log_debug("{}: {} with {} layers, embd {}, {} heads ({} kv, dim {}), ff {}, vocab {}", f.path(), c.arch,
            c.n_layer, c.n_embd, c.n_head, c.n_head_kv, c.head_dim, c.n_ff, c.n_vocab);
}

std::unique_ptr<Model> Model::load(const std::string& path) {
  auto model = from_file(gguf::File::open(path));
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
  uint64_t total = bytes(output_) + token_embd_.row_stride;
  for (const auto& l : layers_)
    total += bytes(l.wq) + bytes(l.wk) + bytes(l.wv) + bytes(l.wo) + bytes(l.w_gate) + bytes(l.w_up) +
             bytes(l.w_down);
  return total;
}

}  // namespace s1
