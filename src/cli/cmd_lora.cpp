// `s1 lora merge`: folds a LoRA adapter (from `s1 train --lora-rank`) into its
// base model: W += (alpha / rank) · B·A for every adapted matrix. The result
// is an F32 GGUF that `s1 run` (and `s1 quantize`) take like any model.
#include "cli/command.h"
#include "gguf/gguf.h"
#include "train/weights.h"
#include "util/error.h"
#include "util/log.h"

namespace s1::cli {
namespace {

struct LoraMergeOptions {
  std::string base, adapter, output;
};

int run_lora_merge(const LoraMergeOptions& o) {
  const gguf::File base = gguf::File::open(o.base);
  const gguf::File adapter = gguf::File::open(o.adapter);
  if (adapter.get_string("adapter.type").value_or("") != "lora")
    fail("{}: adapter.type is not 'lora'; not a LoRA adapter", o.adapter);
  if (adapter.get_string("general.architecture") != base.get_string("general.architecture"))
    fail("{}: the adapter is for a {} model but {} is {}", o.adapter,
         adapter.get_string("general.architecture").value_or("?"), o.base,
         base.get_string("general.architecture").value_or("?"));
  train::Weights w = train::Weights::from_gguf(base);
  w.load_lora(adapter);
  w.merge_lora();
  gguf::Writer writer;
  w.add_to(writer, &base);
  writer.write(o.output);
  log_info("wrote {} ({} merged into {})", o.output, o.adapter, o.base);
  return 0;
}

}  // namespace
}  // namespace s1::cli

S1_COMMAND(lora, "LoRA adapters: `s1 lora merge --base M.gguf --adapter A.gguf -o OUT.gguf`") {
  auto o = std::make_shared<s1::cli::LoraMergeOptions>();
  CLI::App* merge = app.add_subcommand("merge", "Fold an adapter into its base model (writes F32)");
  merge->add_option("--base", o->base, "Base model GGUF")->required();
  merge->add_option("--adapter", o->adapter, "LoRA adapter GGUF (adapter.gguf from s1 train --lora-rank)")->required();
  merge->add_option("-o,--output", o->output, "Merged model GGUF")->required();
  app.require_subcommand(1);
  return [o] { return s1::cli::run_lora_merge(*o); };
}
