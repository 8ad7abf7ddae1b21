#include "cli/train_recipe.h"

#include <cstdio>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "cli/mkmodel.h"
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

// How many re-checks after a "Wait" the k-th pool task or kept example gets: of the
// examples that get any, 4/7 one, 2/7 two, 1/7 three. After each check most
// examples stop (3/7 go on after the first, 1/3 after the second), so greedy
// decoding stops by itself after a forced "Wait" instead of adding its own.
int recheck_passes(const MiniRecipe& r, size_t k) {
  if (r.recheck_every <= 0 || k % size_t(r.recheck_every) != 0) return 0;
  static constexpr int kPasses[7] = {1, 1, 1, 1, 2, 2, 3};
  return kPasses[(k / size_t(r.recheck_every)) % 7];
}

// After the trace's closing "So a+b=N." line, `passes` times: "Wait, let me
// check the answer." and that line again. In the generated traces "Wait" only
// ever follows a false step and changes the value ("Wait, let me check:
// 5+4+0=9, not 10, so far 97"), so a model trained on them alone answers
// budget forcing's "Wait" after a correct result by "correcting" it into a
// wrong one (at pretraining step 2000: 62% with no Wait, 22% with one). These
// examples teach the other case: a re-check that finds the result right.
// Tried and dropped: re-working the whole trace (too long to copy: 43% with
// one Wait) and re-doing the last column as a slip check (the "so far" after
// "Wait" then changes, as the slips taught: 40%). Taught in SFT only, the copy
// of the result line sometimes lost or changed a digit (`So 190-96=944.`);
// taught in pretraining too (27K of its 100K traces), it does not.
void add_rechecks(nlohmann::json& record, int passes) {
  const std::string trace = record["thinking"].get<std::string>();
  const std::string result_line = trace.substr(trace.rfind('\n') + 1);
  std::string thinking = trace;
  for (int i = 0; i < passes; ++i) thinking += "\nWait, let me check the answer.\n" + result_line;
  record["thinking"] = thinking;
  for (auto& message : record["messages"])
    if (message.value("role", "") == "assistant") message["thinking"] = thinking;
}

// s1 data generate; with `rechecks`, every recheck_every-th slip-free trace
// also gets add_rechecks, so pretraining already teaches the re-check.
void generate_pool(const MiniRecipe& r, int64_t n, uint64_t seed, bool rechecks, const std::string& path) {
  data::GenerateOptions options;
  options.seed = seed;
  options.kinds = data::parse_task_kinds(r.kinds);
  options.difficulties = data::parse_difficulties(r.difficulty);
  options.slip_rate = r.slip_rate;
  data::JsonlWriter out(path);
  int64_t rechecked = 0;
  for (int64_t i = 0; i < n; ++i) {
    nlohmann::json record = data::generate_task(options, uint64_t(i)).to_json();
    const int passes = rechecks ? recheck_passes(r, size_t(i)) : 0;
    if (passes > 0 && !record.value("slip", false)) {
      add_rechecks(record, passes);
      ++rechecked;
    }
    out.write(record);
  }
  say("wrote {} tasks (seed {}) to {} ({} with a re-check after \"Wait\")", n, seed, path, rechecked);
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
  int64_t rechecked = 0;
  for (size_t k = 0; k < result.kept.size(); ++k) {
    nlohmann::json record = input[result.kept[k]];
    const int passes = recheck_passes(r, k);
    if (passes > 0 && !record.value("slip", false)) {
      add_rechecks(record, passes);
      ++rechecked;
    }
    out.write(record);
  }
  say("kept {} of {} tasks in {} ({} with a re-check after \"Wait\")", result.kept.size(), input.size(), path,
      rechecked);
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

  generate_pool(r, r.pool_tasks, r.pool_seed, /*rechecks=*/true, at("pretrain.jsonl"));
  learn_vocab(r, at("pretrain.jsonl"), at("vocab.gguf"));
  make_initial_model(r, at("vocab.gguf"), at("init.gguf"));

  train::TrainConfig pretrain = training(r, at("init.gguf"), at("pretrain.jsonl"), at("pretrain"));
  pretrain.steps = r.pretrain_steps;
  pretrain.lr = r.lr, pretrain.min_lr = r.min_lr;
  say("pretraining, {} steps of {} examples", r.pretrain_steps, r.batch);
  train::run_training(pretrain);

  generate_pool(r, r.sft_pool_tasks, r.sft_pool_seed, /*rechecks=*/false, at("sft-pool.jsonl"));
  curate_examples(r, at("sft-pool.jsonl"), at("sft.jsonl"));
  train::TrainConfig sft = training(r, at("pretrain/final.gguf"), at("sft.jsonl"), at("sft"));
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
