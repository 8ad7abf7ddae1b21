#include "model/config.h"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <variant>

#include "util/error.h"

namespace s1 {

namespace {

// The architectures the engine runs. Defaults as llama.cpp assumes them.
constexpr std::array<ArchInfo, 4> kArchs = {{
    {"qwen2", true, false, ops::RopeStyle::neox, 1e6, 1e-6, false, true, "ggml-vocab-qwen2.gguf"},
    {"qwen3", false, true, ops::RopeStyle::neox, 1e6, 1e-6, false, true, "ggml-vocab-qwen2.gguf"},
    {"llama", false, false, ops::RopeStyle::normal, 5e5, 1e-5, false, true, "ggml-vocab-llama-bpe.gguf"},
    {"qwen3moe", false, true, ops::RopeStyle::neox, 1e6, 1e-6, true, false, "ggml-vocab-qwen2.gguf"},
}};

using Field = std::variant<int ModelConfig::*, float ModelConfig::*, double ModelConfig::*>;

enum class Need {
  required,     // every file has it
  dense,        // required unless the architecture is a mixture of experts
  optional,     // derived when absent (complete_config)
  moe,          // mixtures of experts only, required there
};

// One metadata key: where it goes in ModelConfig, whether it must be present,
// and when writing leaves it out (because the reader derives the same value).
struct ConfigKey {
  std::string_view key;  // without "{arch}."
  Field field;
  Need need;
  bool (*omit)(const ModelConfig&) = nullptr;
};

bool head_dim_derived(const ModelConfig& c) { return !c.qk_norm && c.head_dim * c.n_head == c.n_embd; }
bool rope_dims_derived(const ModelConfig& c) { return c.arch != "llama" && c.n_rot == c.head_dim; }

// In the order written (the order llama.cpp's converter writes them).
const std::array<ConfigKey, 14> kKeys = {{
    {"block_count", &ModelConfig::n_layer, Need::required},
    {"context_length", &ModelConfig::n_ctx_train, Need::optional},
    {"embedding_length", &ModelConfig::n_embd, Need::required},
    {"feed_forward_length", &ModelConfig::n_ff, Need::dense},
    {"attention.head_count", &ModelConfig::n_head, Need::required},
    {"attention.head_count_kv", &ModelConfig::n_head_kv, Need::optional},
    {"rope.freq_base", &ModelConfig::rope_theta, Need::optional},
    {"attention.layer_norm_rms_epsilon", &ModelConfig::rms_eps, Need::optional},
    {"attention.key_length", &ModelConfig::head_dim, Need::optional, head_dim_derived},
    {"attention.value_length", &ModelConfig::value_dim, Need::optional, head_dim_derived},
    {"rope.dimension_count", &ModelConfig::n_rot, Need::optional, rope_dims_derived},
    {"expert_count", &ModelConfig::n_expert, Need::moe},
    {"expert_used_count", &ModelConfig::n_expert_used, Need::moe},
    {"expert_feed_forward_length", &ModelConfig::n_ff_exp, Need::moe},
}};

bool applies(const ConfigKey& k, const ModelConfig& c) { return k.need != Need::moe || find_arch(c.arch)->moe; }

bool required(const ConfigKey& k, const ModelConfig& c) {
  const bool moe = find_arch(c.arch)->moe;
  return k.need == Need::required || (k.need == Need::dense && !moe) || (k.need == Need::moe && moe);
}

constexpr int64_t kMaxSize = int64_t(1) << 30;

void check_size(std::string_view where, const ModelConfig& c, std::string_view key, int64_t v) {
  if (v <= 0 || v > kMaxSize) fail("{}: {}.{} is {}, which is not a usable size", where, c.arch, key, v);
}

}  // namespace

const ArchInfo* find_arch(std::string_view name) {
  for (const auto& a : kArchs)
    if (a.name == name) return &a;
  return nullptr;
}

std::span<const ArchInfo> architectures() { return kArchs; }

std::string supported_architectures() {
  std::string names;
  for (const auto& a : kArchs) names += fmt::format("{}{}", names.empty() ? "" : ", ", a.name);
  return names;
}

ModelConfig arch_config(const ArchInfo& arch) {
  ModelConfig c;
  c.arch = std::string(arch.name);
  c.qkv_bias = arch.qkv_bias;
  c.qk_norm = arch.qk_norm;
  c.rope_style = arch.rope;
  return c;
}

ModelConfig read_model_config(const gguf::File& file) {
  auto arch_name = file.get_string("general.architecture");
  if (!arch_name) fail("{}: metadata key 'general.architecture' is missing", file.path());
  const ArchInfo* arch = find_arch(*arch_name);
  if (!arch)
    fail("{}: architecture '{}' is not supported (supported: {})", file.path(), *arch_name,
         supported_architectures());
  ModelConfig c = arch_config(*arch);

  for (const ConfigKey& k : kKeys) {
    if (!applies(k, c)) continue;
    const std::string key = fmt::format("{}.{}", c.arch, k.key);
    if (!file.find(key)) {
      if (required(k, c)) fail("{}: metadata key '{}' is missing", file.path(), key);
      continue;
    }
    std::visit(
        [&](auto field) {
          using T = std::remove_reference_t<decltype(c.*field)>;
          if constexpr (std::is_same_v<T, int>) {
            auto v = file.get_int(key);
            if (!v) fail("{}: metadata key '{}' is not an integer", file.path(), key);
            check_size(file.path(), c, k.key, *v);
            c.*field = int(*v);
          } else {
            auto v = file.get_float(key);
            if (!v) fail("{}: metadata key '{}' is not a number", file.path(), key);
            c.*field = T(*v);
          }
        },
        k.field);
  }

  auto scaling = file.get_string(c.arch + ".rope.scaling.type");
  if (scaling && *scaling == "linear") {
    double factor = file.get_float(c.arch + ".rope.scaling.factor").value_or(1.0);
    if (factor <= 0) fail("{}: rope scaling factor {} is not positive", file.path(), factor);
    c.rope_freq_scale = 1.0 / factor;
  } else if (scaling && *scaling != "none") {
    fail("{}: rope scaling '{}' is not supported (supported: none, linear)", file.path(), *scaling);
  }

  const auto* embd = file.find_tensor("token_embd.weight");
  if (!embd) fail("{}: tensor 'token_embd.weight' is missing", file.path());
  if (embd->shape.size() != 2) fail("{}: tensor 'token_embd.weight' is not a matrix", file.path());
  check_size(file.path(), c, "vocabulary size (token_embd.weight rows)", int64_t(embd->shape[1]));
  c.n_vocab = int(embd->shape[1]);
  c.tied_output = file.find_tensor("output.weight") == nullptr;
  c.rope_freqs = file.find_tensor("rope_freqs.weight") != nullptr;
  if (c.arch == "llama" && file.find_tensor("blk.0.attn_q.bias")) c.qkv_bias = true;
  complete_config(c, file.path());
  return c;
}

void complete_config(ModelConfig& c, std::string_view where) {
  const ArchInfo* arch = find_arch(c.arch);
  if (!arch) fail("{}: architecture '{}' is not supported (supported: {})", where, c.arch, supported_architectures());
  auto need_size = [&](std::string_view key, int v) {
    if (v <= 0) fail("{}: {}.{} is {}, which is not a usable size", where, c.arch, key, v);
  };
  need_size("block_count", c.n_layer);
  need_size("embedding_length", c.n_embd);
  need_size("attention.head_count", c.n_head);
  if (c.n_head_kv == 0) c.n_head_kv = c.n_head;
  need_size("attention.head_count_kv", c.n_head_kv);
  if (c.n_head % c.n_head_kv != 0)
    fail("{}: {} attention heads (attention.head_count) cannot be grouped over {} KV heads "
         "(attention.head_count_kv)",
         where, c.n_head, c.n_head_kv);
  if (c.head_dim == 0) {
    if (c.n_embd % c.n_head != 0)
      fail("{}: embedding length {} is not a multiple of {} heads (set attention.key_length)", where, c.n_embd,
           c.n_head);
    c.head_dim = c.n_embd / c.n_head;
  }
  if (c.value_dim == 0) c.value_dim = c.head_dim;
  if (c.value_dim != c.head_dim)
    fail("{}: {}.attention.key_length {} differs from attention.value_length {}; not supported", where, c.arch,
         c.head_dim, c.value_dim);
  if (c.n_ctx_train == 0) c.n_ctx_train = 4096;
  need_size("context_length", c.n_ctx_train);
  if (c.rope_theta == 0) c.rope_theta = arch->rope_theta;
  if (c.rms_eps == 0) c.rms_eps = float(arch->rms_eps);
  if (c.n_rot == 0) c.n_rot = c.head_dim;
  if (c.n_rot > c.head_dim || c.n_rot % 2 != 0)
    fail("{}: {}.rope.dimension_count {} does not fit head size {}", where, c.arch, c.n_rot, c.head_dim);
  if (arch->moe) {
    need_size("expert_count", c.n_expert);
    need_size("expert_used_count", c.n_expert_used);
    if (c.n_expert_used > c.n_expert)
      fail("{}: {}.expert_used_count {} is more than expert_count {}", where, c.arch, c.n_expert_used, c.n_expert);
    if (c.n_ff_exp == 0 && c.n_ff > 0) c.n_ff_exp = c.n_ff / c.n_expert_used;  // as llama.cpp derives it
    need_size("expert_feed_forward_length", c.n_ff_exp);
  } else {
    need_size("feed_forward_length", c.n_ff);
  }
}

void write_model_config(const ModelConfig& c, gguf::Writer& w) {
  using gguf::Value;
  w.set("general.architecture", Value{c.arch});
  for (const ConfigKey& k : kKeys) {
    if (!applies(k, c) || (k.omit && k.omit(c))) continue;
    const std::string key = fmt::format("{}.{}", c.arch, k.key);
    std::visit(
        [&](auto field) {
          const auto v = c.*field;
          if (v == 0 && !required(k, c)) return;  // unset and derivable
          if constexpr (std::is_same_v<decltype(v), const int>)
            w.set(key, Value{uint32_t(v)});
          else
            w.set(key, Value{float(v)});
        },
        k.field);
  }
  if (c.rope_freq_scale != 1.0) {
    w.set(c.arch + ".rope.scaling.type", Value{std::string("linear")});
    w.set(c.arch + ".rope.scaling.factor", Value{float(1.0 / c.rope_freq_scale)});
  }
  // llama.cpp reads llama's vocabulary size from here when the tokenizer has none.
  if (c.arch == "llama" && c.n_vocab > 0) w.set("llama.vocab_size", Value{uint32_t(c.n_vocab)});
}

std::vector<std::string> config_keys(const ModelConfig& c) {
  std::vector<std::string> keys;
  for (const ConfigKey& k : kKeys)
    if (applies(k, c)) keys.emplace_back(k.key);
  return keys;
}

void set_config_key(ModelConfig& c, std::string_view key, std::string_view value) {
  for (const ConfigKey& k : kKeys) {
    if (k.key != key || !applies(k, c)) continue;
    std::visit(
        [&](auto field) {
          using T = std::remove_reference_t<decltype(c.*field)>;
          T v{};
          const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
          if (ec != std::errc() || end != value.data() + value.size())
            fail("--set {}={}: '{}' is not {}", key, value, value, std::is_same_v<T, int> ? "an integer" : "a number");
          if (v <= 0) fail("--set {}={}: the value must be positive", key, value);
          c.*field = v;
        },
        k.field);
    return;
  }
  fail("--set {}: '{}' is not a {} metadata key (known: {})", key, key, c.arch, fmt::join(config_keys(c), ", "));
}

}  // namespace s1
