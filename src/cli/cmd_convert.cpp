// `s1 convert --vocab-only --tokenizer DIR [--pre NAME] [--chat-template F] -o OUT.gguf`:
// a Hugging Face tokenizer (tokenizer.json, tokenizer_config.json) as a
// vocab-only GGUF that `s1 tokenize`, `s1 template` and
// `s1 mkmodel --vocab-from` read. Converting weights (safetensors) is not
// implemented: without --vocab-only the command says so.
#include <fmt/format.h>

#include "cli/command.h"
#include "gguf/gguf.h"
#include "tokenizer/hf_vocab.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"
#include "util/file.h"

namespace s1::cli {
namespace {

struct ConvertOptions {
  bool vocab_only = false;
  std::string tokenizer_dir;
  std::string pre;
  std::string chat_template;
  std::string out;
};

int run_convert(const ConvertOptions& o) {
  if (!o.vocab_only)
    fail("converting a model's weights is not implemented yet; `s1 convert --vocab-only --tokenizer DIR -o OUT.gguf` "
         "converts its tokenizer");
  HfTokenizer t = read_hf_tokenizer(o.tokenizer_dir, o.pre);
  if (!o.chat_template.empty()) t.chat_template = read_file(o.chat_template);
  const Tokenizer check(t.vocab);  // the same checks loading the file will make, before writing it
  gguf::Writer w;
  w.set("general.name", gguf::Value{std::filesystem::path(o.tokenizer_dir).filename().string()});
  set_tokenizer_keys(w, t);
  w.write(o.out);
  fmt::print("{}: {} tokens, {} merges, pre-tokenizer {}{}\n", o.out, t.vocab.tokens.size(), t.vocab.merges.size(),
             t.vocab.pre, t.chat_template.empty() ? ", no chat template" : ", chat template");
  return 0;
}

}  // namespace
}  // namespace s1::cli

S1_COMMAND(convert, "Convert a Hugging Face tokenizer to a vocab-only GGUF") {
  auto o = std::make_shared<s1::cli::ConvertOptions>();
  app.add_flag("--vocab-only", o->vocab_only, "Convert only the tokenizer (the only mode implemented)");
  app.add_option("--tokenizer", o->tokenizer_dir, "Folder with tokenizer.json and tokenizer_config.json")
      ->required()
      ->check(CLI::ExistingDirectory);
  app.add_option("--pre", o->pre, "Pre-tokenizer name (tokenizer.ggml.pre) when the file's regexes are not recognized");
  app.add_option("--chat-template", o->chat_template, "Jinja chat template file to store instead of the folder's");
  app.add_option("-o,--output", o->out, "Output GGUF")->required();
  return [o] { return s1::cli::run_convert(*o); };
}
