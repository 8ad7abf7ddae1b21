#include "cli/train_recipe.h"

#include <cstdio>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "cli/mkmodel.h"
#include "data/augment.h"
#include "data/curate.h"
#include "data/jsonl.h"
#include "data/tasks.h"
#include "data/vocab_builder.h"
#include "grading/answer.h"
#include "train/trainer.h"
#include "util/error.h"

namespace s1::cli {

namespace fs = std::filesystem;

MiniRecipe MiniRecipe::quick() {
  MiniRecipe r;
  r.pool_tasks = 400;
  r.merges = 32;
  r.layers = 1, r.embd = 32, r.heads = 2, r.kv_heads = 1, r.ff = 64, r.head_dim = 16, r.ctx = 512;
  r.pretrain_steps = 4;
  r.batch = 4;
  r.save_every = 50;
  r.sft_pool_tasks = 100;
  r.long_tasks = 50;
  r.long_steps = 2;
  r.sft_examples = 20;
  r.sft_epochs = 1;
  return r;
}

namespace {

// Stage lines go to stderr whatever S1_LOG says: a full run takes most of an hour.
template <typename... Args>
void say(fmt::format_string<Args...> format, Args&&... args) {
  fmt::print(stderr, "recipe: {}\n", fmt::format(format, std::forward<Args>(args)...));
  std::fflush(stderr);
}

// How many re-checks after a "Wait" a re-checked example gets: 4/7 one, 2/7
// two, 1/7 three. After each check most examples stop (3/7 go on after the
// first, 1/3 after the second), so greedy decoding stops by itself after a
// forced "Wait" instead of adding its own.
int recheck_passes(data::Rng& rng) {
  static constexpr int kPasses[7] = {1, 1, 1, 1, 2, 2, 3};
  return kPasses[rng.below(7)];
}

// Rewrites example `index` of a pool or curated set into one of the examples
// of data/augment.h (or leaves it as generated), with its own random stream:
// the same example whatever came before it. Slipped traces stay as they are.
struct AugmentCounts {
  int64_t rechecked = 0, repaired = 0, cut = 0, with_history = 0;
};
void augment(const MiniRecipe& r, nlohmann::json& record, const data::GenerateOptions& options, uint64_t index,
             const HistoryMix& history, AugmentCounts& counts) {
  // Its own stream: derive_seed(seed, index) is the one that drew the task.
  data::Rng rng(data::derive_seed(data::derive_seed(options.seed, r.augment_stream), index));
  const std::string thinking = record["thinking"];
  const double u = rng.uniform();
  if (!record.value("slip", false)) {
    if (u < r.recheck_share) {
      if (auto t = data::with_rechecks(thinking, recheck_passes(rng))) data::set_thinking(record, *t, false), ++counts.rechecked;
    } else if (u < r.recheck_share + r.repair_share) {
      if (auto t = data::with_repaired_error(thinking, rng, rng.chance(0.5))) data::set_thinking(record, *t, false), ++counts.repaired;
    } else if (u < r.recheck_share + r.repair_share + r.cut_share) {
      data::set_thinking(record, data::cut_thinking(thinking, rng), true);
      ++counts.cut;
    }
  }
  if (rng.chance(history.share)) {
    const int turns = int(rng.range(history.min_turns, history.max_turns));
    data::prepend_history(record, data::earlier_tasks(options, index, turns, history.max_turns));
    ++counts.with_history;
  }
}

std::string describe(const AugmentCounts& c) {
  return fmt::format("{} re-checked, {} repaired after \"Wait\", {} cut, {} after earlier turns", c.rechecked,
                     c.repaired, c.cut, c.with_history);
}

data::GenerateOptions generate_options(const MiniRecipe& r, uint64_t seed) {
  data::GenerateOptions options;
  options.seed = seed;
  options.kinds = data::parse_task_kinds(r.kinds);
  options.difficulties = data::parse_difficulties(r.difficulty);
  options.slip_rate = r.slip_rate;
  return options;
}

// s1 data generate; with `history` (earlier turns), each task goes through augment().
void generate_pool(const MiniRecipe& r, int64_t n, uint64_t seed, const HistoryMix* history, const std::string& path) {
  const data::GenerateOptions options = generate_options(r, seed);
  data::JsonlWriter out(path);
  AugmentCounts counts;
  for (int64_t i = 0; i < n; ++i) {
    nlohmann::json record = data::generate_task(options, uint64_t(i)).to_json();
    if (history) augment(r, record, options, uint64_t(i), *history, counts);
    out.write(record);
  }
  say("wrote {} tasks (seed {}) to {}{}", n, seed, path, history ? " (" + describe(counts) + ")" : "");
}

void learn_vocab(const MiniRecipe& r, const std::string& data_path, const std::string& path) {
  const auto merges = data::learn_bpe_merges(data::vocab_training_texts(data::read_jsonl(data_path)),
                                             {.merges = r.merges, .min_count = 2});
  const Vocab vocab = data::make_vocab(merges);
  data::write_vocab_gguf(vocab, path, "s1-data-vocab");
  say("wrote {} ({} tokens)", path, vocab.tokens.size());
}

void make_initial_model(const MiniRecipe& r, const std::string& vocab_path, const std::string& path) {
  MkmodelOptions m;
  m.arch = "qwen3";
  m.layers = r.layers, m.embd = r.embd, m.heads = r.heads, m.kv_heads = r.kv_heads, m.ff = r.ff;
  m.head_dim = r.head_dim, m.ctx = r.ctx;
  m.vocab_from = vocab_path;
  m.seed = r.model_seed;
  m.name = "s1cpp-mini";  // not "s1-...": that name marks the s1 thinking format (reasoning/thinking_format.h)
  m.output = path;
  run_mkmodel(m);
  say("wrote {} ({} layers, embd {}, ff {})", path, r.layers, r.embd, r.ff);
}

// s1 data curate --n N --seed S (default grader: eval's LaTeX-aware comparison).
void curate_examples(const MiniRecipe& r, const std::string& pool_path, const std::string& path) {
  const std::vector<nlohmann::json> input = data::read_jsonl(pool_path);
  std::vector<data::CurationRecord> records;
  for (size_t i = 0; i < input.size(); ++i) records.push_back(data::read_curation_record(input[i], i));
  data::CurateOptions options;
  options.n = r.sft_examples;
  options.seed = r.curate_seed;
  const data::CurateResult result = data::curate(records, options);
  data::JsonlWriter out(path);
  const data::GenerateOptions stream = generate_options(r, r.curate_seed);  // augment()'s choices and earlier turns
  AugmentCounts counts;
  for (size_t k = 0; k < result.kept.size(); ++k) {
    nlohmann::json record = input[result.kept[k]];
    augment(r, record, stream, k, r.history, counts);
    out.write(record);
  }
  say("kept {} of {} tasks in {} ({})", result.kept.size(), input.size(), path, describe(counts));
}

train::TrainConfig training(const MiniRecipe& r, const std::string& base, const std::string& data_path,
                            const std::string& out) {
  train::TrainConfig c;
  c.base = base;
  c.data = {data_path};
  c.out = out;
  c.batch = r.batch;
  c.max_len = r.max_len;
  c.warmup = r.warmup;
  c.save_every = r.save_every;
  c.threads = r.threads;
  return c;
}

}  // namespace

std::string run_mini_recipe(const MiniRecipe& r, const std::string& out_dir) {
  const fs::path dir(out_dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail("{}: cannot create the output folder: {}", out_dir, ec.message());
  auto at = [&dir](const char* name) { return (dir / name).string(); };

  generate_pool(r, r.pool_tasks, r.pool_seed, &r.history, at("pretrain.jsonl"));
  learn_vocab(r, at("pretrain.jsonl"), at("vocab.gguf"));
  make_initial_model(r, at("vocab.gguf"), at("init.gguf"));

  train::TrainConfig pretrain = training(r, at("init.gguf"), at("pretrain.jsonl"), at("pretrain"));
  pretrain.steps = r.pretrain_steps;
  pretrain.lr = r.lr, pretrain.min_lr = r.min_lr;
  say("pretraining, {} steps of {} examples", r.pretrain_steps, r.batch);
  train::run_training(pretrain);

  // Long context: the same examples after 3-7 earlier turns, so the positions a
  // second forced "Wait" reaches (600-1000 tokens) are ones the model has seen.
  generate_pool(r, r.long_tasks, r.long_seed, &r.long_history, at("long.jsonl"));
  train::TrainConfig long_context = training(r, at("pretrain/final.gguf"), at("long.jsonl"), at("long"));
  long_context.steps = r.long_steps;
  long_context.lr = r.long_lr, long_context.min_lr = r.long_min_lr;
  long_context.max_len = r.long_max_len;
  say("long-context training, {} steps of {} examples", r.long_steps, r.batch);
  train::run_training(long_context);

  generate_pool(r, r.sft_pool_tasks, r.sft_pool_seed, /*history=*/nullptr, at("sft-pool.jsonl"));
  curate_examples(r, at("sft-pool.jsonl"), at("sft.jsonl"));
  train::TrainConfig sft = training(r, at("long/final.gguf"), at("sft.jsonl"), at("sft"));
  sft.epochs = r.sft_epochs;
  sft.lr = r.sft_lr, sft.min_lr = r.sft_min_lr;
  say("SFT, {} epochs over {} examples", r.sft_epochs, r.sft_examples);
  train::run_training(sft);

  const std::string final_path = at("final.gguf");
  fs::copy_file(dir / "sft" / "final.gguf", final_path, fs::copy_options::overwrite_existing, ec);
  if (ec) fail("{}: cannot write the final model: {}", final_path, ec.message());
  say("wrote {}", final_path);
  return final_path;
}

}  // namespace s1::cli
