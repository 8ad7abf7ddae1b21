// `s1 export-hf MODEL.gguf DIR [--dequantize]`: a GGUF model as a Hugging
// Face folder (config.json, generation_config.json, tokenizer.json,
// tokenizer_config.json with the chat template, model.safetensors), for
// training with PyTorch; `s1 convert DIR` brings the result back.
#include <fmt/format.h>

#include "cli/command.h"
#include "hf/convert.h"

namespace s1::cli {
namespace {

CommandRunner setup_export_hf(CLI::App& app) {
  auto o = std::make_shared<hf::ExportOptions>();
  app.add_option("model", o->model, "GGUF model (qwen2, qwen3, llama, qwen3moe)")->required()->check(CLI::ExistingFile);
  app.add_option("dir", o->dir, "Output folder (created when missing)")->required();
  app.add_flag("--dequantize", o->dequantize, "Write quantized tensors as F32 (otherwise they are an error)");
  return [o] {
    const hf::ConvertSummary s = hf::export_gguf_to_hf(*o);
    fmt::print("{}: {}, {} tensors ({:.1f} MB), {} tokens\n", o->dir, s.arch, s.tensors, double(s.bytes) / 1e6,
               s.tokens);
    return 0;
  };
}

// Registered by hand: S1_COMMAND's name is an identifier, and this one has a hyphen.
const CommandRegistrar export_hf_registrar("export-hf", "Write a GGUF model as a Hugging Face folder (safetensors)",
                                           &setup_export_hf);

}  // namespace
}  // namespace s1::cli
