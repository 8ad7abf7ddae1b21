// `s1 convert HF_DIR -o OUT.gguf [--type f32|f16|bf16]`: a Hugging Face model
// folder (config.json, tokenizer files, safetensors shards) as a GGUF model
// (hf/convert.h). `s1 convert --vocab-only --tokenizer DIR -o OUT.gguf`: only
// its tokenizer, as a vocab-only GGUF that `s1 tokenize`, `s1 template` and
// `s1 mkmodel --vocab-from` read.
#include <fmt/format.h>

#include "cli/command.h"
#include "gguf/gguf.h"
#include "hf/convert.h"
#include "tokenizer/hf_vocab.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"
#include "util/file.h"

namespace s1::cli {
namespace {

struct ConvertCliOptions {
  std::string dir;
  bool vocab_only = false;
  std::string tokenizer_dir;
  std::string pre;
  std::string chat_template;
  std::string type;
  std::string out;
};

int run_vocab_only(const ConvertCliOptions& o) {
  const std::string dir = o.tokenizer_dir.empty() ? o.dir : o.tokenizer_dir;
  if (dir.empty()) fail("--vocab-only needs the tokenizer's folder (--tokenizer DIR or HF_DIR)");
  HfTokenizer t = read_hf_tokenizer(dir, o.pre);
  if (!o.chat_template.empty()) t.chat_template = read_file(o.chat_template);
  const Tokenizer check(t.vocab);  // the same checks loading the file will make, before writing it
  gguf::Writer w;
  w.set("general.name", gguf::Value{std::filesystem::path(dir).filename().string()});
  set_tokenizer_keys(w, t);
  w.write(o.out);
  fmt::print("{}: {} tokens, {} merges, pre-tokenizer {}{}\n", o.out, t.vocab.tokens.size(), t.vocab.merges.size(),
             t.vocab.pre, t.chat_template.empty() ? ", no chat template" : ", chat template");
  return 0;
}

int run_convert(const ConvertCliOptions& o) {
  if (o.vocab_only) return run_vocab_only(o);
  if (o.dir.empty()) fail("convert needs the Hugging Face folder: s1 convert HF_DIR -o OUT.gguf");
  hf::ConvertOptions options{.dir = o.dir, .output = o.out, .type = std::nullopt, .tokenizer_dir = o.tokenizer_dir, .pre = o.pre,
                             .chat_template_file = o.chat_template};
  if (!o.type.empty()) {
    const auto type = parse_dtype(o.type);
    if (!type || !(*type == DType::F32 || *type == DType::F16 || *type == DType::BF16))
      fail("--type '{}' is not f32, f16 or bf16", o.type);
    options.type = *type;
  }
  const hf::ConvertSummary s = hf::convert_hf_to_gguf(options);
  fmt::print("{}: {}, {} tensors ({:.1f} MB), {} tokens\n", o.out, s.arch, s.tensors, double(s.bytes) / 1e6,
             s.tokens);
  return 0;
}

}  // namespace
}  // namespace s1::cli

S1_COMMAND(convert, "Convert a Hugging Face model folder (or only its tokenizer) to GGUF") {
  auto o = std::make_shared<s1::cli::ConvertCliOptions>();
  app.add_option("dir", o->dir, "Hugging Face folder: config.json, tokenizer files, .safetensors shards")
      ->check(CLI::ExistingDirectory);
  app.add_option("-o,--output", o->out, "Output GGUF")->required();
  app.add_option("--type", o->type, "The matrices' type: f32, f16 or bf16 (default: as stored)");
  app.add_flag("--vocab-only", o->vocab_only, "Convert only the tokenizer");
  app.add_option("--tokenizer", o->tokenizer_dir, "Folder with tokenizer.json and tokenizer_config.json (default: dir)")
      ->check(CLI::ExistingDirectory);
  app.add_option("--pre", o->pre, "Pre-tokenizer name (tokenizer.ggml.pre) when the file's regexes are not recognized");
  app.add_option("--chat-template", o->chat_template, "Jinja chat template file to store instead of the folder's");
  return [o] { return s1::cli::run_convert(*o); };
}
