// Model quantization with llama.cpp's per-tensor type choices
// (llama_tensor_get_type in llama-quant.cpp) for the recipes we support.
#include "model/quantize.h"

#include <algorithm>
#include <cctype>
#include <exception>
#include <optional>
#include <set>
#include <span>
#include <thread>

#include "model/tensors.h"
#include "tensor/quant.h"
#include "util/error.h"
#include "util/log.h"
#include "util/thread_pool.h"

namespace s1 {
namespace {

struct Recipe {
  const char* name;
  DType base;          // the type of most weight matrices
  uint32_t file_type;  // llama.cpp's LLAMA_FTYPE_MOSTLY_* value for general.file_type
  bool k_mixture;      // *_K_M: Q6_K for attn_v and ffn_down on the more-bits layers
  bool mxfp4_experts = false;  // MXFP4_MOE: expert tensors MXFP4, every other matrix (output too) the base Q8_0
};

constexpr Recipe kRecipes[] = {
    {"Q8_0", DType::Q8_0, 7, false},    {"Q4_0", DType::Q4_0, 2, false},   {"Q5_0", DType::Q5_0, 8, false},
    {"Q4_K_M", DType::Q4_K, 15, true},  {"Q5_K_M", DType::Q5_K, 17, true}, {"Q6_K", DType::Q6_K, 18, false},
    {"F16", DType::F16, 1, false},      {"BF16", DType::BF16, 32, false},  {"MXFP4_MOE", DType::Q8_0, 38, false, true},
};

constexpr uint32_t kQuantizationVersion = 2;  // GGML_QNT_VERSION, written beside the file type

std::string upper(std::string_view s) {
  std::string out;
  for (char c : s) out += char(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

const Recipe& find_recipe(const std::string& name) {
  for (const auto& r : kRecipes)
    if (upper(name) == r.name) return r;
  std::string supported;
  for (const auto& r : kRecipes) supported += (supported.empty() ? "" : ", ") + std::string(r.name);
  fail("unknown quantization type '{}' (supported: {})", name, supported);
}

bool is_block_type(DType type) { return traits(type).block_elems > 1; }

uint64_t block_elems(DType type) { return traits(type).block_elems; }

// N of "blk.N.<rest>", or -1 for tensors outside the layers.
int layer_of(const std::string& name) {
  if (name.rfind("blk.", 0) != 0) return -1;
  size_t i = 4;
  int layer = 0;
  while (i < name.size() && std::isdigit(static_cast<unsigned char>(name[i])) && layer < 1000000)
    layer = layer * 10 + (name[i++] - '0');
  return i > 4 && i < name.size() && name[i] == '.' ? layer : -1;
}

// Dimensions without trailing ones, as ggml_n_dims counts them.
int n_dims(const gguf::TensorInfo& t) {
  int n = int(t.shape.size());
  while (n > 1 && t.shape[size_t(n) - 1] == 1) --n;
  return n;
}

bool contains(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

// A stack of expert matrices: llama.cpp's ne[2] > 1 (ffn_{gate,up,down}_exps).
bool is_expert_stack(const gguf::TensorInfo& t) { return t.shape.size() > 2 && t.shape[2] > 1; }

// Weight matrices are quantized; norms, biases, 1-D and tiny special tensors
// are copied. For an architecture the engine runs, the tensor list says which
// are weight matrices (model/tensors.h: matrix and experts; the router stays
// F32); for any other GGUF, llama.cpp's name rules do.
bool is_quantizable_by_name(const gguf::TensorInfo& t) {
  const std::string& name = t.name;
  return name.size() >= 6 && name.ends_with("weight") && n_dims(t) >= 2 && t.n_elements > 0 &&
         !contains(name, "_norm.weight") && !contains(name, "ffn_gate_inp.weight") &&
         !contains(name, "ssm_conv1d.weight") && name != "position_embd.weight" && name != "token_types.weight";
}

// llama.cpp's attn_v category, which takes more bits on some layers: attn_v
// and a fused q|k|v projection (Qwen3.5's Gated DeltaNet attn_qkv).
bool is_attn_v_like(const std::string& name) {
  return contains(name, "attn_v.weight") || contains(name, "attn_qkv.weight");
}

// llama.cpp's use_more_bits: the first and last eighth of the layers and every
// third one in between.
bool more_bits_layer(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

// The type to use when `type`'s block does not divide the row length: Q4_K and
// Q5_K become Q5_0, Q6_K becomes Q8_0 (as in the Qwen2.5-0.5B files), and
// anything still not fitting becomes F16.
DType fit_row(DType type, const gguf::TensorInfo& t) {
  const uint64_t row = t.shape[0];
  if (row % block_elems(type) == 0) return type;
  DType fallback = DType::F16;
  if (type == DType::Q4_K || type == DType::Q5_K) fallback = DType::Q5_0;
  if (type == DType::Q6_K) fallback = DType::Q8_0;
  if (row % block_elems(fallback) != 0) fallback = DType::F16;
  log_info("tensor '{}': rows of {} do not fit {} blocks, using {}", t.name, row, dtype_name(type),
           dtype_name(fallback));
  return fallback;
}

// Position-dependent choices need counters over the tensors in writing order,
// like llama.cpp's quantize_state_impl.
// The weight matrices of a model of an architecture we run; nullopt for any
// other file (unknown architecture, or metadata that does not describe it).
std::optional<std::set<std::string>> weight_matrices(const gguf::File& file) {
  auto arch = file.get_string("general.architecture");
  if (!arch || !find_arch(*arch)) return std::nullopt;
  ModelConfig config;
  try {
    config = read_model_config(file);
  } catch (const Error&) {
    return std::nullopt;
  }
  std::set<std::string> names;
  for_each_tensor(config, [&](const TensorSpec& spec) {
    if (spec.kind == TensorKind::matrix || spec.kind == TensorKind::experts) names.insert(spec.name);
  });
  return names;
}

struct Chooser {
  const Recipe& recipe;
  std::optional<std::set<std::string>> matrices;  // when the architecture is one we run

  bool is_quantizable(const gguf::TensorInfo& t) const {
    return matrices ? matrices->count(t.name) > 0 && t.n_elements > 0 : is_quantizable_by_name(t);
  }
  bool has_output = false;
  int n_attn_v = 0, i_attn_v = 0;
  int n_ffn_down = 0, i_ffn_down = 0;
  // With experts llama.cpp takes an ffn_down's layer from its name (a layer
  // may hold several: ffn_down_exps and ffn_down_shexp), else it counts them.
  bool ffn_down_layer_from_name = false;
  // llama.cpp's rules for models of exactly 8 experts (Mixtral's): attn_v and
  // attn_k Q8_0, and attn_output Q5_K in Q4_K_M.
  bool eight_experts = false;

  DType operator()(const gguf::TensorInfo& t) {
    if (!is_quantizable(t)) return t.type;
    DType type = recipe.base;
    if (!is_block_type(type)) return type;  // F16 / BF16: every matrix alike
    const std::string& name = t.name;
    if (recipe.mxfp4_experts) {
      // llama.cpp's MXFP4_MOE: the output (and a tied embedding) is Q8_0 like
      // every other matrix; only expert stacks are MXFP4.
      return fit_row(is_expert_stack(t) ? DType::MXFP4 : type, t);
    }
    if (name == "output.weight" || (!has_output && name == "token_embd.weight")) {
      if (t.shape[0] % block_elems(type) != 0)
        type = DType::Q8_0;
      else if (type != DType::Q8_0)
        type = DType::Q6_K;
    } else if (is_attn_v_like(name)) {
      if (recipe.k_mixture && more_bits_layer(i_attn_v, n_attn_v)) type = DType::Q6_K;
      if (eight_experts) type = DType::Q8_0;
      ++i_attn_v;
    } else if (contains(name, "attn_k.weight")) {
      if (eight_experts) type = DType::Q8_0;
    } else if (contains(name, "attn_output.weight")) {
      if (eight_experts && recipe.base == DType::Q4_K) type = DType::Q5_K;
    } else if (contains(name, "ffn_down")) {
      const int layer = ffn_down_layer_from_name ? layer_of(name) : i_ffn_down;
      if (recipe.k_mixture && more_bits_layer(layer, n_ffn_down)) type = DType::Q6_K;
      ++i_ffn_down;
    }
    return fit_row(type, t);
  }
};

using Plan = std::vector<std::pair<const gguf::TensorInfo*, DType>>;

Plan make_plan(const gguf::File& file, const Recipe& recipe) {
  std::vector<const gguf::TensorInfo*> order;
  for (const auto& t : file.tensors()) order.push_back(&t);
  // llama_model_loader's weight_name_comparer: layer number first (non-layer
  // tensors before the layers), then the name.
  std::stable_sort(order.begin(), order.end(), [](const gguf::TensorInfo* a, const gguf::TensorInfo* b) {
    const int la = layer_of(a->name), lb = layer_of(b->name);
    return la != lb ? la < lb : a->name < b->name;
  });

  Chooser choose{recipe, weight_matrices(file)};
  for (const auto* t : order) {
    if (is_attn_v_like(t->name)) ++choose.n_attn_v;
    if (contains(t->name, "ffn_down")) ++choose.n_ffn_down;
    if (t->name == "output.weight") choose.has_output = true;
  }
  // llama.cpp counts ffn_down positions in layers (hparams.n_layer).
  if (auto arch = file.get_string("general.architecture")) {
    if (auto n_layer = file.get_int(*arch + ".block_count")) choose.n_ffn_down = int(*n_layer);
    const int64_t n_expert = file.get_int(*arch + ".expert_count").value_or(0);
    choose.ffn_down_layer_from_name = n_expert > 1;
    choose.eight_experts = n_expert == 8;
  }

  Plan plan;
  for (const auto* t : order) plan.emplace_back(t, choose(*t));
  return plan;
}

// Converts every row of `t` to `type` into `out`, rows split over threads.
void convert_tensor(const gguf::TensorInfo& t, DType type, std::span<uint8_t> out, int n_threads) {
  const int64_t row = int64_t(t.shape[0]);
  const int64_t n_rows = int64_t(t.n_elements) / row;
  const size_t in_row = row_bytes(t.type, uint64_t(row)), out_row = row_bytes(type, uint64_t(row));
  const int n_workers = int(std::clamp<int64_t>(n_rows, 1, n_threads));
  std::vector<std::exception_ptr> errors(static_cast<size_t>(n_workers));
  auto work = [&](int worker) {
    try {
      std::vector<float> x(static_cast<size_t>(row));
      for (int64_t r = n_rows * worker / n_workers; r < n_rows * (worker + 1) / n_workers; ++r) {
        dequantize_row(t.type, t.data + size_t(r) * in_row, x.data(), row);
        quantize_row(type, x.data(), out.data() + size_t(r) * out_row, row);
      }
    } catch (...) {
      errors[size_t(worker)] = std::current_exception();
    }
  };
  {
    std::vector<std::jthread> helpers;
    for (int w = 1; w < n_workers; ++w) helpers.emplace_back(work, w);
    work(0);
  }
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace

std::vector<std::string> quantize_recipes() {
  std::vector<std::string> names;
  for (const auto& r : kRecipes) names.emplace_back(r.name);
  return names;
}

std::vector<std::pair<std::string, DType>> quantize_plan(const gguf::File& file, const std::string& recipe) {
  std::vector<std::pair<std::string, DType>> out;
  for (const auto& [t, type] : make_plan(file, find_recipe(recipe))) out.emplace_back(t->name, type);
  return out;
}

void quantize_file(const std::string& in, const std::string& out, const std::string& recipe_name, int n_threads) {
  const Recipe& recipe = find_recipe(recipe_name);
  if (n_threads <= 0) n_threads = available_cores();
  const auto file = gguf::File::open(in);
  const Plan plan = make_plan(file, recipe);

  for (const auto& [t, type] : plan) {
    if (type == t->type) continue;
    if (!quant_supported(t->type))
      fail("{}: tensor '{}' is {}, which s1 cannot convert to {}", in, t->name, dtype_name(t->type), dtype_name(type));
  }
  const bool requantizing = std::any_of(plan.begin(), plan.end(), [](const auto& p) {
    return p.second != p.first->type && is_block_type(p.first->type) && is_block_type(p.second);
  });
  if (requantizing)
    log_warn("{}: requantizing already quantized weights; quality is worse than quantizing the F32/F16/BF16 model",
             in);

  gguf::Writer writer;
  for (const auto& [key, value] : file.metadata()) writer.set(key, value);
  for (const char* key : {"split.no", "split.count", "split.tensors.count"}) writer.remove(key);
  // Removed first so they land at the end, where llama.cpp puts them.
  writer.remove("general.quantization_version");
  writer.set("general.quantization_version", gguf::Value{kQuantizationVersion});
  writer.remove("general.file_type");
  writer.set("general.file_type", gguf::Value{recipe.file_type});

  size_t index = 0;
  for (const auto& [t, planned_type] : plan) {
    ++index;
    const DType type = planned_type;  // a copy: structured bindings cannot be captured before C++20 in clang 14
    if (type == t->type) {
      writer.add_tensor_view(t->name, type, t->shape, std::span<const uint8_t>(t->data, size_t(t->n_bytes)));
      continue;
    }
    const gguf::TensorInfo* source = t;
    writer.add_tensor_generated(t->name, type, t->shape, [=, n = plan.size()](std::span<uint8_t> bytes) {
      log_info("[{}/{}] {} {} -> {}", index, n, source->name, dtype_name(source->type), dtype_name(type));
      convert_tensor(*source, type, bytes, n_threads);
    });
  }
  writer.write(out);
}

}  // namespace s1
