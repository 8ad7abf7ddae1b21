#include "hf/hf_config.h"

#include <fmt/format.h>

#include <cmath>

#include "hf/hf_names.h"
#include "util/error.h"

namespace s1::hf {
namespace {

using nlohmann::json;

// Reads config.json's keys with errors that name the file and the key.
struct Keys {
  const json& j;
  const std::string& path;

  const json* find(const char* key) const {
    const auto it = j.find(key);
    return it == j.end() || it->is_null() ? nullptr : &*it;
  }
  int size(const char* key, bool required) const {
    const json* v = find(key);
    if (!v) {
      if (required) fail("{}: '{}' is missing", path, key);
      return 0;
    }
    if (!v->is_number_integer() || v->get<int64_t>() <= 0 || v->get<int64_t>() > (int64_t(1) << 30))
      fail("{}: '{}' is {}, which is not a usable size", path, key, v->dump());
    return int(v->get<int64_t>());
  }
  double number(const char* key) const {
    const json* v = find(key);
    if (!v) return 0;
    if (!v->is_number() || !(v->get<double>() > 0) || !std::isfinite(v->get<double>()))
      fail("{}: '{}' is {}, which is not a positive number", path, key, v->dump());
    return v->get<double>();
  }
  bool flag(const char* key, bool otherwise) const {
    const json* v = find(key);
    if (!v) return otherwise;
    if (!v->is_boolean()) fail("{}: '{}' is {}, not true or false", path, key, v->dump());
    return v->get<bool>();
  }
  std::string text(const char* key) const {
    const json* v = find(key);
    if (!v) return "";
    if (!v->is_string()) fail("{}: '{}' is {}, not a string", path, key, v->dump());
    return v->get<std::string>();
  }
  [[noreturn]] void unsupported(const char* key, const std::string& why) const {
    fail("{}: '{}' is {}: {}", path, key, find(key) ? find(key)->dump() : "set", why);
  }
};

void read_rope_scaling(const Keys& k, HfModelConfig& out) {
  const json* s = k.find("rope_scaling");
  if (!s) return;
  if (!s->is_object()) k.unsupported("rope_scaling", "not an object");
  const Keys r{*s, k.path};
  std::string type = r.text("rope_type");
  if (type.empty()) type = r.text("type");
  ModelConfig& c = out.config;
  if (type == "default" || type.empty()) return;
  if (type == "linear" || type == "yarn") {
    c.rope_scaling = type == "yarn" ? RopeScaling::yarn : RopeScaling::linear;
    c.rope_scaling_factor = r.number("factor");
    c.rope_orig_ctx = r.size("original_max_position_embeddings", false);
    if (r.find("attention_factor")) c.rope_attn_factor = float(r.number("attention_factor"));
    return;
  }
  if (type == "llama3") {
    out.llama3_rope = Llama3Rope{r.number("factor"), r.number("low_freq_factor"), r.number("high_freq_factor"),
                                 r.size("original_max_position_embeddings", true)};
    if (out.llama3_rope->high_freq_factor <= out.llama3_rope->low_freq_factor)
      k.unsupported("rope_scaling", "high_freq_factor must be above low_freq_factor");
    c.rope_freqs = true;
    return;
  }
  k.unsupported("rope_scaling", fmt::format("rope type '{}' is not supported (linear, yarn, llama3)", type));
}

// The shortest decimal that reads back as the same float (1e-06, not 9.99999997e-07).
double shortest(float v) { return std::stod(fmt::format("{}", v)); }

const char* torch_dtype(DType t) {
  switch (t) {
    case DType::F16: return "float16";
    case DType::BF16: return "bfloat16";
    default: return "float32";
  }
}

}  // namespace

HfModelConfig read_hf_config(const json& j, const std::string& path, int n_vocab, bool has_lm_head) {
  if (!j.is_object()) fail("{}: not a JSON object", path);
  const Keys k{j, path};
  const std::string model_type = k.text("model_type");
  const HfArch* hf = find_hf_arch_by_model_type(model_type);
  if (!hf) fail("{}: model_type '{}' is not supported (supported: {})", path, model_type, hf_model_types());
  HfModelConfig out;
  ModelConfig& c = out.config;
  c = arch_config(*find_arch(hf->arch));
  if (const std::string act = k.text("hidden_act"); !act.empty() && act != "silu")
    k.unsupported("hidden_act", "only silu (SwiGLU) is supported");
  if (k.flag("use_sliding_window", false)) k.unsupported("use_sliding_window", "sliding windows are not supported");
  if (k.find("partial_rotary_factor") && k.number("partial_rotary_factor") != 1.0)
    k.unsupported("partial_rotary_factor", "partial rope is not supported");
  if (k.flag("mlp_bias", false)) k.unsupported("mlp_bias", "feed-forward biases are not supported");
  c.n_layer = k.size("num_hidden_layers", true);
  c.n_embd = k.size("hidden_size", true);
  c.n_head = k.size("num_attention_heads", true);
  c.n_head_kv = k.size("num_key_value_heads", false);
  c.head_dim = c.value_dim = k.size("head_dim", false);
  c.n_ff = k.size("intermediate_size", !find_arch(hf->arch)->moe);
  c.n_ctx_train = k.size("max_position_embeddings", false);
  c.rms_eps = float(k.number("rms_norm_eps"));
  c.rope_theta = k.number("rope_theta");
  if (hf->arch == "llama") {
    c.qkv_bias = k.flag("attention_bias", false);
    // transformers' llama puts the bias on o_proj too; s1's llama has q/k/v biases only.
    if (c.qkv_bias) k.unsupported("attention_bias", "llama's o_proj bias is not supported");
  }
  if (find_arch(hf->arch)->moe) {
    c.n_expert = k.size("num_experts", true);
    c.n_expert_used = k.size("num_experts_per_tok", true);
    c.n_ff_exp = k.size("moe_intermediate_size", true);
    // s1's qwen3moe renormalizes the chosen experts' weights and makes every layer a mixture.
    if (!k.flag("norm_topk_prob", true)) k.unsupported("norm_topk_prob", "only renormalized top-k weights");
    if (k.find("decoder_sparse_step") && k.size("decoder_sparse_step", true) != 1)
      k.unsupported("decoder_sparse_step", "every layer must be a mixture of experts");
    if (const json* dense = k.find("mlp_only_layers"); dense && !(dense->is_array() && dense->empty()))
      k.unsupported("mlp_only_layers", "every layer must be a mixture of experts");
  }
  read_rope_scaling(k, out);
  c.tied_output = k.flag("tie_word_embeddings", !has_lm_head);
  if (!c.tied_output && !has_lm_head) fail("{}: tie_word_embeddings is false but there is no lm_head.weight", path);
  c.n_vocab = n_vocab;
  if (const int declared = k.size("vocab_size", false); declared != 0 && declared != n_vocab)
    fail("{}: vocab_size {} differs from model.embed_tokens.weight's {} rows", path, declared, n_vocab);
  complete_config(c, path);
  return out;
}

std::vector<float> llama3_rope_factors(const ModelConfig& c, const Llama3Rope& r) {
  // Meta's Llama 3.1 recipe: wavelengths shorter than original_context / high_freq_factor keep their
  // frequency, longer than original_context / low_freq_factor are slowed by `factor`, and the band
  // between blends the two. The engine divides each pair's angle by its factor.
  const double low_wavelen = r.original_context / r.low_freq_factor;
  const double high_wavelen = r.original_context / r.high_freq_factor;
  std::vector<float> factors;
  for (int i = 0; i < c.n_rot / 2; ++i) {
    const double freq = std::pow(c.rope_theta, -2.0 * i / c.n_rot);
    const double wavelen = 2 * M_PI / freq;
    if (wavelen < high_wavelen) {
      factors.push_back(1.0f);
    } else if (wavelen > low_wavelen) {
      factors.push_back(float(r.factor));
    } else {
      const double smooth =
          (r.original_context / wavelen - r.low_freq_factor) / (r.high_freq_factor - r.low_freq_factor);
      factors.push_back(float(1.0 / ((1 - smooth) / r.factor + smooth)));
    }
  }
  return factors;
}

json hf_config_json(const ModelConfig& c, const std::string& where, DType dtype, int bos, int eos) {
  const HfArch* hf = find_hf_arch(c.arch);
  if (!hf) fail("{}: architecture '{}' has no Hugging Face form in s1 (supported: {})", where, c.arch, hf_architectures());
  if (c.rope_freqs)
    fail("{}: rope_freqs.weight (Llama 3 rope scaling) cannot be turned back into config.json's rope_scaling", where);
  if (c.n_rot != c.head_dim) fail("{}: partial rope ({} of {} dimensions) has no config.json form here", where, c.n_rot, c.head_dim);
  if (c.rope_attn_factor != 1.0f && c.rope_scaling != RopeScaling::yarn)
    fail("{}: rope.scaling.attn_factor {} has no config.json form here", where, c.rope_attn_factor);
  if (c.arch == "llama" && c.qkv_bias)
    fail("{}: llama with q/k/v biases has no transformers form (its attention_bias adds an o_proj bias too)", where);
  json j = {
      {"architectures", {hf->class_name}},
      {"model_type", hf->model_type},
      {"hidden_act", "silu"},
      {"hidden_size", c.n_embd},
      {"intermediate_size", c.n_ff},
      {"num_hidden_layers", c.n_layer},
      {"num_attention_heads", c.n_head},
      {"num_key_value_heads", c.n_head_kv},
      {"head_dim", c.head_dim},
      {"max_position_embeddings", c.n_ctx_train},
      {"rms_norm_eps", shortest(c.rms_eps)},
      {"rope_theta", c.rope_theta},
      {"rope_scaling", nullptr},
      {"vocab_size", c.n_vocab},
      {"tie_word_embeddings", c.tied_output},
      {"torch_dtype", torch_dtype(dtype)},
      {"use_cache", true},
  };
  if (c.arch != "qwen2") j["attention_bias"] = false;  // qwen2's q/k/v biases are fixed by its class
  if (c.arch != "llama") j["use_sliding_window"] = false;
  if (bos >= 0) j["bos_token_id"] = bos;
  if (eos >= 0) j["eos_token_id"] = eos;
  if (c.rope_scaling != RopeScaling::none) {
    json s = {{"rope_type", c.rope_scaling == RopeScaling::yarn ? "yarn" : "linear"},
              {"factor", c.rope_scaling_factor}};
    if (c.rope_orig_ctx > 0) s["original_max_position_embeddings"] = c.rope_orig_ctx;
    if (c.rope_attn_factor != 1.0f) s["attention_factor"] = shortest(c.rope_attn_factor);
    j["rope_scaling"] = s;
  }
  if (c.moe()) {
    j["num_experts"] = c.n_expert;
    j["num_experts_per_tok"] = c.n_expert_used;
    j["moe_intermediate_size"] = c.n_ff_exp;
    j["norm_topk_prob"] = true;
    j["decoder_sparse_step"] = 1;
    j["mlp_only_layers"] = json::array();
    if (c.n_ff == 0) j.erase("intermediate_size");
  }
  return j;
}

}  // namespace s1::hf
