// `s1 export-hf`: a GGUF model as a Hugging Face folder that transformers
// (and `s1 convert`) load. F32, F16 and BF16 tensors are written as they
// are, straight from the mapped GGUF; quantized ones are refused unless
// --dequantize asks for F32 (transformers cannot read ggml's blocks).
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <set>

#include "gguf/gguf.h"
#include "hf/convert.h"
#include "hf/hf_config.h"
#include "hf/hf_names.h"
#include "hf/safetensors.h"
#include "hf/tensor_data.h"
#include "hf/tokenizer_files.h"
#include "model/tensors.h"
#include "util/error.h"

namespace s1::hf {
namespace {

namespace fs = std::filesystem;

void write_json(const fs::path& path, const nlohmann::json& j) {
  std::string text;
  try {
    text = j.dump(2) + "\n";
  } catch (const nlohmann::json::exception& e) {  // text that is not UTF-8
    fail("{}: cannot be written as JSON: {}", path.string(), e.what());
  }
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.close();
  if (!out) fail("{}: cannot write the file", path.string());
}

bool is_float(DType t) { return t == DType::F32 || t == DType::F16 || t == DType::BF16; }

}  // namespace

ConvertSummary export_gguf_to_hf(const ExportOptions& o) {
  const gguf::File file = gguf::File::open(o.model);
  const ModelConfig c = read_model_config(file);
  const Vocab vocab = read_vocab(file);
  const Tokenizer check(vocab);
  const gguf::TensorInfo* embd = file.find_tensor("token_embd.weight");
  const DType embd_type = is_float(embd->type) ? embd->type : DType::F32;
  // Everything that can fail on the configuration fails before a file is written.
  const nlohmann::json config = hf_config_json(c, o.model, embd_type, vocab.bos, vocab.eos);
  const TokenizerFiles tokenizer =
      tokenizer_files(vocab, file.get_string("tokenizer.chat_template").value_or(""), c.n_ctx_train, o.model);

  safetensors::Writer weights;
  weights.set_metadata("format", "pt");  // transformers refuses safetensors files without it
  ConvertSummary summary{c.arch, 0, int(vocab.tokens.size()), 0};
  std::set<std::string> used;
  for_each_tensor(c, [&](const TensorSpec& spec) {
    const gguf::TensorInfo* t = file.find_tensor(spec.name);
    if (!t) fail("{}: tensor '{}' is missing", o.model, spec.name);
    if (t->shape != spec.shape) fail("{}: tensor '{}' does not have the shape its configuration gives", o.model, spec.name);
    used.insert(spec.name);
    ++summary.tensors;
    DType type = t->type;
    std::span<const uint8_t> bytes(t->data, size_t(t->n_bytes));
    std::vector<uint8_t> changed;
    if (!is_float(type)) {
      if (!o.dequantize)
        fail("{}: tensor '{}' is {}; Hugging Face folders hold F32, F16 or BF16 (--dequantize writes it as F32)",
             o.model, spec.name, dtype_name(type));
      changed = convert_elements(bytes, type, DType::F32, t->n_elements);
      type = DType::F32;
      bytes = changed;
    }
    if (rows_reordered(c, spec)) {
      changed = reorder_rows(bytes, row_bytes(type, spec.cols()), reordered_heads(c, spec), RowOrder::gguf_to_hf);
      bytes = changed;
    }
    const std::vector<std::string> names = hf_tensor_names(spec);
    std::vector<uint64_t> shape(spec.shape.rbegin(), spec.shape.rend());
    if (spec.kind == TensorKind::experts) shape.erase(shape.begin());  // one expert's
    const size_t part = bytes.size() / names.size();
    for (size_t i = 0; i < names.size(); ++i) {
      if (changed.empty())
        weights.add_tensor_view(names[i], type, shape, bytes.subspan(i * part, part));
      else
        weights.add_tensor(names[i], type, shape, {bytes.begin() + ptrdiff_t(i * part), bytes.begin() + ptrdiff_t((i + 1) * part)});
    }
    summary.bytes += bytes.size();
  });
  for (const auto& t : file.tensors())
    if (!used.count(t.name)) fail("{}: tensor '{}' has no place in a Hugging Face {} folder", o.model, t.name, c.arch);

  const fs::path dir(o.dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail("{}: cannot create the folder: {}", o.dir, ec.message());
  weights.write((dir / "model.safetensors").string());
  write_json(dir / "config.json", config);
  write_json(dir / "generation_config.json", tokenizer.generation_config);
  write_json(dir / "tokenizer.json", tokenizer.tokenizer);
  write_json(dir / "tokenizer_config.json", tokenizer.tokenizer_config);
  return summary;
}

}  // namespace s1::hf
