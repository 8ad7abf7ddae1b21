// `s1 convert`: a Hugging Face folder to GGUF. Tensors stay in their stored
// type unless --type says otherwise (1-D tensors and routers become F32, as
// llama.cpp's converter writes them); bytes that need no change are written
// straight from the mapped shards.
#include "hf/convert.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <deque>
#include <filesystem>
#include <map>
#include <set>

#include "gguf/gguf.h"
#include "hf/hf_config.h"
#include "hf/hf_names.h"
#include "hf/safetensors.h"
#include "hf/tensor_data.h"
#include "tokenizer/hf_vocab.h"
#include "util/error.h"
#include "util/file.h"

namespace s1::hf {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json read_json(const fs::path& path) {
  try {
    return json::parse(read_file(path));
  } catch (const json::exception& e) {
    fail("{}: not valid JSON: {}", path.string(), e.what());
  }
}

// Every tensor of every shard, by name.
class Shards {
 public:
  explicit Shards(const fs::path& dir) {
    for (const fs::path& file : shard_files(dir)) {
      files_.push_back(safetensors::File::open(file.string()));
      for (const auto& t : files_.back().tensors())
        if (!by_name_.emplace(t.name, Found{&t, &files_.back()}).second)
          fail("{}: tensor '{}' is in two shards", file.string(), t.name);
    }
    if (!index_.empty())
      for (const auto& [name, shard] : index_) {
        const auto it = by_name_.find(name);
        if (it == by_name_.end() || fs::path(it->second.file->path()).filename() != shard)
          fail("{}: tensor '{}' is not in {}", (dir / kIndex).string(), name, shard);
      }
  }
  const safetensors::Tensor* find(const std::string& name) const {
    const auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : it->second.tensor;
  }
  const std::string& file_of(const std::string& name) const { return by_name_.at(name).file->path(); }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [name, found] : by_name_) out.push_back(name);
    return out;
  }

 private:
  static constexpr const char* kIndex = "model.safetensors.index.json";
  struct Found {
    const safetensors::Tensor* tensor;
    const safetensors::File* file;
  };

  // The index's shards, else model.safetensors, else every .safetensors file.
  std::vector<fs::path> shard_files(const fs::path& dir) {
    const fs::path index = dir / kIndex;
    std::set<std::string> names;
    if (fs::exists(index)) {
      const json j = read_json(index);
      const auto map = j.find("weight_map");
      if (!j.is_object() || map == j.end() || !map->is_object())
        fail("{}: no weight_map object", index.string());
      for (const auto& [tensor, shard] : map->items()) {
        if (!shard.is_string() || shard.get<std::string>().find('/') != std::string::npos ||
            !shard.get<std::string>().ends_with(".safetensors"))
          fail("{}: tensor '{}' maps to {}, not a .safetensors file in the folder", index.string(), tensor,
               shard.dump());
        names.insert(shard.get<std::string>());
        index_.emplace(tensor, shard.get<std::string>());
      }
    } else if (fs::exists(dir / "model.safetensors")) {
      names.insert("model.safetensors");
    } else {
      for (const auto& entry : fs::directory_iterator(dir))
        if (entry.path().extension() == ".safetensors") names.insert(entry.path().filename().string());
    }
    if (names.empty()) fail("{}: no .safetensors weights in the folder", dir.string());
    std::vector<fs::path> paths;
    for (const auto& n : names) paths.push_back(dir / n);
    return paths;
  }

  std::deque<safetensors::File> files_;  // a deque: Found points into it while it grows
  std::map<std::string, Found> by_name_;
  std::map<std::string, std::string> index_;
};

// The HF shape of one tensor (one expert's for stacked experts): the GGUF
// shape reversed.
std::vector<uint64_t> hf_shape(const TensorSpec& spec) {
  std::vector<uint64_t> shape(spec.shape.rbegin(), spec.shape.rend());
  if (spec.kind == TensorKind::experts) shape.erase(shape.begin());
  return shape;
}

std::string shape_text(const std::vector<uint64_t>& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

uint32_t file_type(DType t) { return t == DType::F16 ? 1 : t == DType::BF16 ? 32 : 0; }

}  // namespace

ConvertSummary convert_hf_to_gguf(const ConvertOptions& o) {
  const fs::path dir(o.dir);
  const std::string config_path = (dir / "config.json").string();
  const json config_json = read_json(config_path);
  const Shards shards(dir);

  const safetensors::Tensor* embd = shards.find("model.embed_tokens.weight");
  if (!embd || embd->shape.size() != 2)
    fail("{}: no model.embed_tokens.weight matrix in the folder's safetensors", o.dir);
  if (embd->shape[0] > uint64_t(1) << 30)
    fail("{}: model.embed_tokens.weight has {} rows, too many", shards.file_of(embd->name), embd->shape[0]);
  const HfModelConfig hc = read_hf_config(config_json, config_path, int(embd->shape[0]),
                                          shards.find("lm_head.weight") != nullptr);
  const ModelConfig& c = hc.config;

  HfTokenizer tok = read_hf_tokenizer(o.tokenizer_dir.empty() ? dir : fs::path(o.tokenizer_dir), o.pre);
  if (!o.chat_template_file.empty()) tok.chat_template = read_file(o.chat_template_file);
  Vocab& v = tok.vocab;
  if (v.tokens.size() > size_t(c.n_vocab))
    fail("{}: the tokenizer has {} tokens but the embedding only {} rows", o.dir, v.tokens.size(), c.n_vocab);
  for (size_t id = v.tokens.size(); id < size_t(c.n_vocab); ++id) {  // rows no token uses, as llama.cpp pads them
    v.tokens.push_back("[PAD" + std::to_string(id) + "]");
    v.types.push_back(int32_t(TokenType::unused));
  }
  const Tokenizer check(v);  // the checks loading the GGUF will make, before writing it

  const auto embd_type = safetensors::float_dtype(embd->dtype);
  if (!embd_type)
    fail("{}: model.embed_tokens.weight is {}; s1 converts F32, F16 and BF16", shards.file_of(embd->name), embd->dtype);
  const DType matrix_type = o.type.value_or(*embd_type);
  gguf::Writer w;
  write_model_config(c, w);
  w.set("general.name", gguf::Value{fs::absolute(dir).lexically_normal().filename().string()});
  w.set("general.file_type", gguf::Value{file_type(matrix_type)});
  set_tokenizer_keys(w, tok);

  ConvertSummary summary{c.arch, 0, int(v.tokens.size()), 0};
  std::set<std::string> used;
  for_each_tensor(c, [&](const TensorSpec& spec) {
    ++summary.tensors;
    if (spec.role == TensorRole::rope_freqs) {
      const std::vector<float> factors = llama3_rope_factors(c, *hc.llama3_rope);
      const auto* p = reinterpret_cast<const uint8_t*>(factors.data());
      summary.bytes += factors.size() * 4;
      w.add_tensor(spec.name, DType::F32, spec.shape, std::vector<uint8_t>(p, p + factors.size() * 4));
      return;
    }
    const bool is_matrix = spec.kind == TensorKind::matrix || spec.kind == TensorKind::experts;
    std::vector<const safetensors::Tensor*> sources;
    for (const std::string& name : hf_tensor_names(spec)) {
      const safetensors::Tensor* t = shards.find(name);
      if (!t) fail("{}: tensor '{}' (for {}) is missing", o.dir, name, spec.name);
      if (!safetensors::float_dtype(t->dtype))
        fail("{}: tensor '{}' is {}; s1 converts F32, F16 and BF16", shards.file_of(name), name, t->dtype);
      if (t->shape != hf_shape(spec))
        fail("{}: tensor '{}' has shape {} but config.json makes it {}", shards.file_of(name), name,
             shape_text(t->shape), shape_text(hf_shape(spec)));
      used.insert(name);
      sources.push_back(t);
    }
    const DType from = *safetensors::float_dtype(sources.front()->dtype);
    const DType to = is_matrix ? o.type.value_or(from) : DType::F32;
    const bool reorder = rows_reordered(c, spec);
    if (sources.size() == 1 && from == to && !reorder) {
      w.add_tensor_view(spec.name, to, spec.shape, {sources[0]->data, size_t(sources[0]->n_bytes)});
      summary.bytes += sources[0]->n_bytes;
      return;
    }
    std::vector<uint8_t> bytes;  // the experts one after another, each in the target type
    for (const safetensors::Tensor* t : sources) {
      const auto source_type = *safetensors::float_dtype(t->dtype);
      std::vector<uint8_t> part = source_type == to ? std::vector<uint8_t>(t->data, t->data + t->n_bytes)
                                                    : convert_elements({t->data, size_t(t->n_bytes)}, source_type, to,
                                                                       t->n_elements);
      bytes.insert(bytes.end(), part.begin(), part.end());
    }
    if (reorder) bytes = reorder_rows(bytes, row_bytes(to, spec.cols()), reordered_heads(c, spec), RowOrder::hf_to_gguf);
    summary.bytes += bytes.size();
    w.add_tensor(spec.name, to, spec.shape, std::move(bytes));
  });

  for (const std::string& name : shards.names()) {
    if (used.count(name) || name.ends_with(".rotary_emb.inv_freq")) continue;  // rope's table, derived from config
    if (name == "lm_head.weight" && c.tied_output) continue;  // a stored copy of the tied embedding
    fail("{}: tensor '{}' has no place in s1's {} (config.json: {})", shards.file_of(name), name, c.arch,
         find_hf_arch(c.arch)->model_type);
  }
  w.write(o.output);
  return summary;
}

}  // namespace s1::hf
