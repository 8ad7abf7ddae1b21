// `s1 info -m FILE.gguf [--json]`: what a GGUF model is, read from its header
// alone (no weights are touched, so it is instant even for large files).
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/default_model.h"
#include "gguf/gguf.h"
#include "model/config.h"
#include "tensor/cpu_features.h"
#include "tensor/kernel_set.h"
#include "util/error.h"

namespace s1::cli {
namespace {

using nlohmann::ordered_json;

struct InfoOptions {
  std::string model;
  bool json = false;
};

// llama.cpp's names for general.file_type (llama_model_ftype_name).
std::string file_type_name(int64_t ftype) {
  static const std::map<int64_t, const char*> names = {
      {0, "all F32"},        {1, "mostly F16"},     {2, "Q4_0"},           {3, "Q4_1"},
      {7, "Q8_0"},           {8, "Q5_0"},           {9, "Q5_1"},           {10, "Q2_K - Medium"},
      {11, "Q3_K - Small"},  {12, "Q3_K - Medium"}, {13, "Q3_K - Large"},  {14, "Q4_K - Small"},
      {15, "Q4_K - Medium"}, {16, "Q5_K - Small"},  {17, "Q5_K - Medium"}, {18, "Q6_K"},
      {32, "BF16"},          {38, "MXFP4 MoE"},
  };
  auto it = names.find(ftype);
  return it != names.end() ? it->second : fmt::format("type {}", ftype);
}

template <typename T>
ordered_json or_null(const std::optional<T>& v) {
  return v ? ordered_json(*v) : ordered_json(nullptr);
}

// Everything `info` reports, as one JSON object (absent facts are null).
ordered_json describe(const gguf::File& f) {
  auto arch = f.get_string("general.architecture");
  std::string a = arch.value_or("");
  auto key = [&](std::string_view suffix) { return fmt::format("{}.{}", a, suffix); };

  auto embd = f.get_int(key("embedding_length"));
  auto heads = f.get_int(key("attention.head_count"));
  auto head_dim = f.get_int(key("attention.key_length"));
  if (!head_dim && embd && heads && *heads > 0) head_dim = *embd / *heads;
  const ArchInfo* arch_info = find_arch(a);

  std::map<std::string, int64_t> weight_types;
  uint64_t parameters = 0;
  for (const auto& t : f.tensors()) {
    ++weight_types[std::string(dtype_name(t.type))];
    parameters += t.n_elements;
  }
  std::optional<bool> tied;
  if (f.find_tensor("token_embd.weight")) tied = f.find_tensor("output.weight") == nullptr;

  std::optional<int64_t> vocab;
  if (const gguf::Array* tokens = f.get_array("tokenizer.ggml.tokens")) vocab = int64_t(tokens->items.size());
  if (!vocab) vocab = f.get_int(key("vocab_size"));
  std::optional<std::string> file_type;
  if (auto ft = f.get_int("general.file_type")) file_type = file_type_name(*ft);

  ordered_json j;
  j["file"] = f.path();
  j["file_size"] = f.file_size();
  j["gguf_version"] = f.version();
  j["architecture"] = or_null(arch);
  j["name"] = or_null(f.get_string("general.name"));
  j["file_type"] = or_null(file_type);
  j["layers"] = or_null(f.get_int(key("block_count")));
  j["embedding"] = or_null(embd);
  j["heads"] = or_null(heads);
  j["kv_heads"] = or_null(f.get_int(key("attention.head_count_kv")));
  j["head_dim"] = or_null(head_dim);
  j["feed_forward"] = or_null(f.get_int(key("feed_forward_length")));
  j["experts"] = or_null(f.get_int(key("expert_count")));
  j["experts_used"] = or_null(f.get_int(key("expert_used_count")));
  j["expert_feed_forward"] = or_null(f.get_int(key("expert_feed_forward_length")));
  // What the configuration derives: Gated DeltaNet's recurrent layers (qwen35)
  // and the fixed state each sequence holds for them, the sliding-window
  // layers (gpt-oss), the rope scaling, and the KV cache's bytes per token (F16).
  std::optional<int64_t> recurrent_layers, recurrent_bytes, windowed_layers, kv_bytes;
  std::optional<std::string> rope_scaling;
  if (arch_info) {
    try {
      const ModelConfig c = read_model_config(f);
      if (c.gated_delta_net()) {
        recurrent_layers = c.n_recurrent_layers();
        recurrent_bytes = *recurrent_layers * int64_t(c.recurrent_state_floats() * sizeof(float));
      }
      if (c.sliding_window > 0)
        windowed_layers = std::count(c.windowed_layers.begin(), c.windowed_layers.end(), true);
      kv_bytes = int64_t(c.n_layer - c.n_recurrent_layers()) * (c.mla() ? 1 : 2) * c.kv_dim() * 2;  // MLA: keys only
      if (c.rope_scaling == RopeScaling::linear) rope_scaling = fmt::format("linear x{}", c.rope_scaling_factor);
      if (c.rope_scaling == RopeScaling::yarn)
        rope_scaling = fmt::format("yarn x{} of {} positions", c.rope_scaling_factor, c.rope_orig_ctx);
    } catch (const Error&) {  // a broken file still gets the rest of its description
    }
  }
  j["recurrent_layers"] = or_null(recurrent_layers);
  j["recurrent_state_bytes"] = or_null(recurrent_bytes);
  j["sliding_window"] = or_null(f.get_int(key("attention.sliding_window")));
  j["sliding_window_layers"] = or_null(windowed_layers);
  j["kv_cache_bytes_per_token"] = or_null(kv_bytes);
  j["context_length"] = or_null(f.get_int(key("context_length")));
  j["rope_theta"] = or_null(f.get_float(key("rope.freq_base")));
  j["rope_type"] = arch_info ? ordered_json(arch_info->rope == ops::RopeStyle::neox ? "neox" : "normal") : ordered_json(nullptr);
  j["rope_scaling"] = or_null(rope_scaling);
  j["rms_epsilon"] = or_null(f.get_float(key("attention.layer_norm_rms_epsilon")));
  j["tied_output"] = or_null(tied);
  j["tensors"] = f.tensors().size();
  j["parameters"] = parameters;
  j["weight_types"] = weight_types;
  j["vocab_size"] = or_null(vocab);
  j["tokenizer_model"] = or_null(f.get_string("tokenizer.ggml.model"));
  j["tokenizer_pre"] = or_null(f.get_string("tokenizer.ggml.pre"));
  j["chat_template"] = f.find("tokenizer.chat_template") != nullptr;
  // What this machine would run it with: the kernel set picked at start (or by S1_CPU).
  j["kernels"] = std::string(kernels().name);
  j["cpu"] = cpu_features().model;
  j["cpu_features"] = cpu_features().list();
  return j;
}

std::string human_size(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.2f} {}", bytes, units[u]);
}

std::string human_count(uint64_t n) {
  if (n >= 1000000000) return fmt::format("{:.2f} B", double(n) / 1e9);
  if (n >= 1000000) return fmt::format("{:.2f} M", double(n) / 1e6);
  if (n >= 1000) return fmt::format("{:.2f} K", double(n) / 1e3);
  return std::to_string(n);
}

std::string text(const ordered_json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_number_float()) return fmt::format("{}", float(v.get<double>()));  // GGUF stores f32
  return v.dump();
}

void print_human(const ordered_json& j) {
  std::vector<std::pair<std::string, std::string>> rows;
  uint64_t size = j["file_size"];
  rows.emplace_back("file", text(j["file"]));
  rows.emplace_back("file size", fmt::format("{} ({} bytes), GGUF v{}", human_size(double(size)), size,
                                             j["gguf_version"].get<int>()));
  rows.emplace_back("architecture", text(j["architecture"]));
  rows.emplace_back("name", text(j["name"]));
  rows.emplace_back("file type", text(j["file_type"]));
  rows.emplace_back("layers", text(j["layers"]));
  rows.emplace_back("embedding", text(j["embedding"]));
  rows.emplace_back("heads", text(j["heads"]));
  rows.emplace_back("kv heads", text(j["kv_heads"]));
  rows.emplace_back("head dim", text(j["head_dim"]));
  rows.emplace_back("feed forward", text(j["feed_forward"]));
  if (!j["experts"].is_null())
    rows.emplace_back("experts", fmt::format("{} of width {}, {} used per token", text(j["experts"]),
                                             text(j["expert_feed_forward"]), text(j["experts_used"])));
  if (!j["recurrent_layers"].is_null())
    rows.emplace_back("gated deltanet", fmt::format("{} of {} layers, {} of state per sequence",
                                                    text(j["recurrent_layers"]), text(j["layers"]),
                                                    human_size(j["recurrent_state_bytes"].get<double>())));
  if (!j["sliding_window"].is_null())
    rows.emplace_back("sliding window", fmt::format("{} positions on {} of {} layers", text(j["sliding_window"]),
                                                    text(j["sliding_window_layers"]), text(j["layers"])));
  if (!j["kv_cache_bytes_per_token"].is_null())
    rows.emplace_back("kv cache", fmt::format("{} per token (f16)", human_size(j["kv_cache_bytes_per_token"].get<double>())));
  rows.emplace_back("context length", text(j["context_length"]));
  rows.emplace_back("rope", fmt::format("{}, theta {}{}", text(j["rope_type"]), text(j["rope_theta"]),
                                        j["rope_scaling"].is_null() ? "" : ", " + text(j["rope_scaling"])));
  rows.emplace_back("rms epsilon", text(j["rms_epsilon"]));
  if (!j["tied_output"].is_null()) rows.emplace_back("output", j["tied_output"].get<bool>() ? "tied" : "untied");
  uint64_t params = j["parameters"];
  rows.emplace_back("parameters", fmt::format("{} ({})", human_count(params), params));
  std::string types;
  for (const auto& [name, count] : j["weight_types"].items())
    types += fmt::format("{}{} x {}", types.empty() ? "" : ", ", name, count.get<int64_t>());
  rows.emplace_back("weights", fmt::format("{} tensors{}{}", j["tensors"].get<uint64_t>(),
                                           types.empty() ? "" : ": ", types));
  rows.emplace_back("vocab size", text(j["vocab_size"]));
  rows.emplace_back("tokenizer", j["tokenizer_pre"].is_null()
                                     ? text(j["tokenizer_model"])
                                     : fmt::format("{} (pre {})", text(j["tokenizer_model"]),
                                                   text(j["tokenizer_pre"])));
  rows.emplace_back("chat template", text(j["chat_template"]));
  rows.emplace_back("kernels", fmt::format("{} (CPU: {}; {})", text(j["kernels"]), text(j["cpu"]),
                                           text(j["cpu_features"])));
  size_t width = 0;
  for (const auto& r : rows) width = std::max(width, r.first.size());
  for (const auto& [label, value] : rows) fmt::print("{:<{}}  {}\n", label, width, value);
}

int run_info(const InfoOptions& opts) {
  auto j = describe(gguf::File::open(model_or_bundled(opts.model)));
  if (opts.json)
    fmt::print("{}\n", j.dump());
  else
    print_human(j);
  return 0;
}

}  // namespace
}  // namespace s1::cli

S1_COMMAND(info, "Show a GGUF model's architecture, shape, weight types and tokenizer") {
  auto opts = std::make_shared<s1::cli::InfoOptions>();
  s1::cli::add_model_option(app, opts->model, "GGUF file");
  app.add_flag("--json", opts->json, "Print one JSON object instead of aligned lines");
  return [opts] { return s1::cli::run_info(*opts); };
}
