#pragma once
// Hugging Face model folders and GGUF files, both ways:
//
//   convert_hf_to_gguf({.dir = "Qwen2.5-0.5B-Instruct", .output = "q.gguf"});  // `s1 convert`
//   export_gguf_to_hf({.model = "q.gguf", .dir = "q-hf"});                      // `s1 export-hf`
//
// A folder holds config.json, tokenizer.json, tokenizer_config.json (with its
// chat_template) and the weights in one or more .safetensors shards
// (model.safetensors.index.json maps names to shards). Tensor names and shapes
// come from model/tensors.h's list, named the HF way by hf/hf_names.h.
#include <optional>
#include <string>

#include "tensor/dtype.h"

namespace s1::hf {

struct ConvertOptions {
  std::string dir;                  // the Hugging Face folder
  std::string output;               // GGUF path
  std::optional<DType> type;        // the matrices' type (F32, F16, BF16); default: as stored
  std::string tokenizer_dir;        // default: dir
  std::string pre;                  // pre-tokenizer name when the regexes are not recognized
  std::string chat_template_file;   // instead of tokenizer_config.json's
};

struct ConvertSummary {
  std::string arch;
  int tensors = 0;
  int tokens = 0;
  uint64_t bytes = 0;  // of tensor data written
};
ConvertSummary convert_hf_to_gguf(const ConvertOptions& options);

struct ExportOptions {
  std::string model;         // GGUF path
  std::string dir;           // created when missing
  bool dequantize = false;   // quantized tensors as F32; otherwise they are an error
};
ConvertSummary export_gguf_to_hf(const ExportOptions& options);

}  // namespace s1::hf
