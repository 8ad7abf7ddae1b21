// `s1 train`: supervised fine-tuning (train/trainer.h). Every option is also a
// key of the --config file, which may be JSON ({"base": "m.gguf", "lr": 1e-5})
// or TOML (base = "m.gguf"); flags given on the command line win. Keys may use
// '-' or '_' ("max_len" = "max-len").
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include <filesystem>

#include "cli/command.h"
#include "cli/mkmodel.h"
#include "cli/train_recipe.h"
#include "util/error.h"
#include "train/bench.h"
#include "train/trainer.h"

namespace s1::cli {
namespace {

// CLI11's TOML reader, plus JSON objects: each key becomes a config item,
// arrays become repeated values.
std::vector<CLI::ConfigItem> read_config(const std::string& path) {
    std::ifstream input(path, std::ios::binary);
    if (!input) s1::fail("{}: cannot open the config file", path);
    std::stringstream buffer;
    buffer << input.rdbuf();
    const std::string text = buffer.str();
    const auto first = text.find_first_not_of(" \t\r\n");
    std::vector<CLI::ConfigItem> items;
    if (first != std::string::npos && text[first] == '{') {
      const auto json = nlohmann::json::parse(text, nullptr, false);
      if (json.is_discarded() || !json.is_object()) s1::fail("{}: not a valid JSON object", path);
      for (const auto& [key, value] : json.items()) {
        CLI::ConfigItem item;
        item.name = key;
        auto add = [&](const nlohmann::json& v) { item.inputs.push_back(v.is_string() ? v.get<std::string>() : v.dump()); };
        if (value.is_array())
          for (const auto& v : value) add(v);
        else
          add(value);
        items.push_back(std::move(item));
      }
    } else {
      std::istringstream again(text);
      items = CLI::ConfigTOML().from_config(again);
    }
    for (auto& item : items) std::replace(item.name.begin(), item.name.end(), '_', '-');
    return items;
}

// Sets every option the command line left unset from the config file. (CLI11
// reads config files only for the top-level app, not for a subcommand.)
void apply_config(CLI::App& app, const std::string& path) {
  for (const CLI::ConfigItem& item : read_config(path)) {
    if (!item.parents.empty()) s1::fail("{}: sections ([{}]) are not supported", path, item.parents[0]);
    if (item.name == "config") s1::fail("{}: a config file cannot name another", path);
    CLI::Option* option = app.get_option_no_throw("--" + item.name);
    if (!option) s1::fail("{}: unknown key '{}' (keys are the options of `s1 train --help`)", path, item.name);
    if (option->count() > 0) continue;  // the command line wins
    std::vector<std::string> inputs = item.inputs;
    if (option->get_type_size() == 0 && inputs.size() == 1) {  // a flag: true/false
      if (inputs[0] != "true") continue;
      inputs = {};
    }
    try {
      option->add_result(inputs);
      option->run_callback();
    } catch (const CLI::Error& e) {
      s1::fail("{}: key '{}': {}", path, item.name, e.what());
    }
  }
}

}  // namespace
}  // namespace s1::cli

S1_COMMAND(train, "Fine-tune a model on JSONL conversations (SFT, AdamW, checkpoints, resume)") {
  auto c = std::make_shared<s1::train::TrainConfig>();
  auto config_path = std::make_shared<std::string>();
  auto bench = std::make_shared<bool>(false);
  auto bench_tokens = std::make_shared<int>(512);
  app.add_flag("--bench", *bench, "Measure training speed on --base (random tokens): tokens/s, MFU, step/forward");
  app.add_option("--bench-tokens", *bench_tokens, "Tokens per step for --bench (default 512)");
  app.add_option("--config", *config_path, "JSON or TOML file whose keys are these options (flags win)");
  app.add_option("--base", c->base, "Model GGUF to start from (any type; weights are trained in f32)");
  app.add_option("--data", c->data, "Training data: JSONL of {\"messages\": [...]} (repeatable)");
  app.add_option("--out", c->out, "Output directory: final.gguf, checkpoint.gguf, log.jsonl");
  app.add_option("--epochs", c->epochs, "Passes over the data (default 5)");
  app.add_option("--steps", c->steps, "Exactly this many optimizer steps (overrides --epochs)");
  app.add_option("--lr", c->lr, "Peak learning rate (default 1e-5)");
  app.add_option("--min-lr", c->min_lr, "Learning rate at the end of the cosine decay (default 0)");
  app.add_option("--warmup", c->warmup, "Linear warmup, as a fraction of the steps (default 0.05)");
  app.add_option("--weight-decay", c->weight_decay, "AdamW decoupled weight decay (default 1e-4)");
  app.add_option("--beta1", c->beta1, "AdamW beta1 (default 0.9)");
  app.add_option("--beta2", c->beta2, "AdamW beta2 (default 0.95)");
  app.add_option("--grad-clip", c->grad_clip, "Clip gradients to this global norm; 0: off (default 1)");
  app.add_option("--batch", c->batch, "Examples per optimizer step (default 16)");
  app.add_option("--batch-tokens", c->batch_tokens, "Instead of --batch: whole examples up to this many tokens per step");
  app.add_option("--micro-tokens", c->micro_tokens,
                 "Tokens per forward pass: examples are packed up to this, gradients accumulate (default max-len)");
  app.add_option("--max-len", c->max_len, "Longest example in tokens; longer ones are dropped and counted (4096)");
  app.add_option("--eval-split", c->eval_split, "Fraction of the examples held out for eval loss (default 0)");
  app.add_option("--eval-every", c->eval_every, "Steps between evaluations (default: only at the end)");
  app.add_option("--save-every", c->save_every, "Steps between checkpoints (default 50)");
  app.add_option("--seed", c->seed, "Seed of the data order (same seed, threads and machine: same bits)");
  app.add_option("-t,--threads", c->threads, "Threads (default: all cores)");
  app.add_flag("--skip-bad", c->skip_bad, "Skip malformed JSONL lines (reported with their line number)");
  app.add_option("--freeze", c->freeze, "Keep these fixed: embeddings, output, norms, attention, ffn (repeatable)");
  app.add_option("--lora-rank", c->lora_rank, "Train rank-r LoRA adapters on the projections (0: full fine-tuning)");
  app.add_option("--lora-alpha", c->lora_alpha, "LoRA scale numerator: the adapter is scaled by alpha / rank (16)");
  app.add_flag("--bf16", c->bf16, "Matrix products in bfloat16 (AVX512-BF16), f32 weights and sums");
  auto no_progress = std::make_shared<bool>(false);
  app.add_flag("--no-progress", *no_progress, "No progress bar on a terminal");
  // A fresh model instead of --base (`s1 mkmodel`'s options; --fresh-arch or
  // --fresh-shape asks for it), written to OUT/init.gguf and kept, so a rerun
  // that resumes starts from the same weights.
  auto fresh = std::make_shared<s1::cli::MkmodelOptions>();
  s1::cli::add_model_shape_options(app, *fresh, "--fresh-arch", "--fresh-shape");
  auto recipe = std::make_shared<std::string>();
  auto quick = std::make_shared<bool>(false);
  app.add_option("--recipe", *recipe,
                 "Build a model from nothing: 'mini' = the bundled models/mini.gguf (data, vocabulary, "
                 "pretraining, SFT; only --out, --threads and --quick apply)")
      ->check(CLI::IsMember({"mini"}));
  app.add_flag("--quick", *quick, "With --recipe: the shortened pipeline (tiny data and model, a few steps)");
  return [c, config_path, bench, bench_tokens, no_progress, recipe, quick, fresh, &app] {
    if (!config_path->empty()) s1::cli::apply_config(app, *config_path);
    c->progress = !*no_progress;
    if (!recipe->empty()) {
      if (!c->base.empty() || !c->data.empty()) s1::fail("train --recipe makes its own data and model: drop --base/--data");
      s1::cli::MiniRecipe r = *quick ? s1::cli::MiniRecipe::quick() : s1::cli::MiniRecipe{};
      if (app.count("--threads")) r.threads = c->threads;
      s1::cli::run_mini_recipe(r, c->out.empty() ? "mini" : c->out);
      return 0;
    }
    if (*quick) s1::fail("--quick applies to --recipe only");
    if (*bench) {
      if (c->base.empty()) s1::fail("train --bench needs --base MODEL.gguf");
      const auto r = s1::train::run_train_bench({.model = c->base, .tokens = *bench_tokens, .threads = c->threads, .bf16 = c->bf16});
      fmt::print("precision    {}\n", c->bf16 ? "bf16 matmuls" : "f32");
      fmt::print("model        {}\nparameters   {:.1f} M\nthreads      {}\ntokens/step  {}\n", c->base,
                 double(r.parameters) / 1e6, r.threads, r.tokens);
      fmt::print("forward      {:.3f} s\nstep         {:.3f} s (forward + backward + AdamW)\n", r.forward_s, r.step_s);
      fmt::print("step/forward {:.2f} (CPU time: {:.2f})\n", r.step_s / r.forward_s, r.step_cpu_s / r.forward_cpu_s);
      fmt::print("tokens/s     {:.1f}\nmatmul peak  {:.1f} GFLOP/s\nMFU          {:.1f} %\n",
                 r.tokens_per_s, r.matmul_peak_gflops, 100.0 * r.mfu);
      return 0;
    }
    if (!fresh->arch.empty() || !fresh->shape.empty()) {
      if (!c->base.empty()) s1::fail("give either --base or a fresh model (--fresh-arch/--fresh-shape), not both");
      if (c->out.empty()) s1::fail("train needs --out DIR");
      std::filesystem::create_directories(c->out);
      fresh->output = (std::filesystem::path(c->out) / "init.gguf").string();
      fresh->seed = c->seed;
      if (!std::filesystem::exists(fresh->output)) s1::cli::run_mkmodel(*fresh);
      c->base = fresh->output;
    }
    s1::train::run_training(*c);
    return 0;
  };
}
