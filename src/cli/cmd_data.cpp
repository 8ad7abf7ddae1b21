// `s1 data ...`: the s1 data pipeline in miniature. generate writes synthetic
// reasoning tasks with teacher traces, vocab learns a small byte-level BPE
// vocabulary from them, curate keeps a small, hard, diverse, correct subset
// (s1's three criteria), distill collects traces from an OpenAI-compatible
// teacher server, export writes records in s1K's columns for training with
// PyTorch (deploy/train/).
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "cli/command.h"
#include "data/augment.h"
#include "data/curate.h"
#include "data/distill.h"
#include "data/jsonl.h"
#include "data/reference_solver.h"
#include "data/s1k_export.h"
#include "data/tasks.h"
#include "data/vocab_builder.h"
#include "grading/answer.h"
#include "util/error.h"
#include "util/log.h"

namespace s1::cli {
namespace {

struct GenerateOptions {
  int64_t n = 1000;
  uint64_t seed = 1;
  std::string kinds = "all";
  std::string difficulty = "1-5";
  double slip_rate = 0.2;
  int history = 0;
  std::string output;
};

int run_generate(const GenerateOptions& o) {
  if (o.n < 0) fail("--n must be >= 0, got {}", o.n);
  if (o.slip_rate < 0 || o.slip_rate > 1) fail("--slip-rate must be within [0, 1], got {}", o.slip_rate);
  data::GenerateOptions options;
  options.seed = o.seed;
  options.kinds = data::parse_task_kinds(o.kinds);
  options.difficulties = data::parse_difficulties(o.difficulty);
  options.slip_rate = o.slip_rate;
  data::JsonlWriter out(o.output);
  int64_t slips = 0, chars = 0;
  for (int64_t i = 0; i < o.n; ++i) {
    data::Task task = data::generate_task(options, uint64_t(i));
    slips += task.slip;
    chars += int64_t(task.thinking.size());
    nlohmann::json record = task.to_json();
    if (o.history > 0) data::prepend_history(record, data::earlier_tasks(options, uint64_t(i), o.history, o.history));
    out.write(record);
  }
  log_info("wrote {} tasks to {} ({} with a repaired slip, {:.0f} thinking characters on average)", o.n, o.output,
           slips, o.n ? double(chars) / double(o.n) : 0.0);
  return 0;
}

void add_generate(CLI::App& data, std::function<int()>& runner) {
  auto o = std::make_shared<GenerateOptions>();
  CLI::App* app = data.add_subcommand("generate", "Write synthetic reasoning tasks with step-by-step teacher traces");
  app->option_defaults()->always_capture_default();
  app->add_option("--n", o->n, "How many tasks");
  app->add_option("--seed", o->seed, "Random seed (same seed and flags, same file)");
  app->add_option("--kinds", o->kinds, "Comma-separated: add, sub, mul, word, equation, count, order (or all)");
  app->add_option("--difficulty", o->difficulty, "Levels 1..5, a range '1-3' or a list '1,2,5'");
  app->add_option("--slip-rate", o->slip_rate, "Share of traces that plant a slip and repair it with 'Wait'");
  app->add_option("--history", o->history,
                  "Earlier turns before each question (their questions and answers, in 'history' and 'messages')")
      ->check(CLI::Range(0, 16));
  app->add_option("-o,--out", o->output, "Output JSONL file")->required();
  app->callback([o, &runner] { runner = [o] { return run_generate(*o); }; });
}

struct VocabOptions {
  std::vector<std::string> data;
  int merges = 256;
  int64_t min_count = 2;
  std::string name = "s1-data-vocab";
  std::string output;
};

int run_vocab(const VocabOptions& o) {
  std::vector<std::string> texts;
  for (const auto& path : o.data) {
    auto more = data::vocab_training_texts(data::read_jsonl(path));
    texts.insert(texts.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
  }
  if (texts.empty()) fail("{}: no text to learn a vocabulary from", o.data.front());
  auto merges = data::learn_bpe_merges(texts, {.merges = o.merges, .min_count = o.min_count});
  Vocab vocab = data::make_vocab(merges);
  data::write_vocab_gguf(vocab, o.output, o.name);
  log_info("wrote {}: {} tokens (256 bytes, {} merges, {} specials) learned from {} texts", o.output,
           vocab.tokens.size(), merges.size(), data::special_tokens().size(), texts.size());
  return 0;
}

void add_vocab(CLI::App& data, std::function<int()>& runner) {
  auto o = std::make_shared<VocabOptions>();
  CLI::App* app = data.add_subcommand("vocab", "Learn a byte-level BPE vocabulary from JSONL data as a vocab-only GGUF");
  app->option_defaults()->always_capture_default();
  app->add_option("--data", o->data, "JSONL files (messages, or question/thinking/answer fields)")->required();
  app->add_option("--merges", o->merges, "Merges to learn at most (vocabulary: 256 + merges + 5 specials)");
  app->add_option("--min-count", o->min_count, "Stop when the most frequent pair occurs fewer times");
  app->add_option("--name", o->name, "general.name of the file");
  app->add_option("-o,--out", o->output, "Output GGUF file")->required();
  app->callback([o, &runner] { runner = [o] { return run_vocab(*o); }; });
}

struct CurateCliOptions {
  std::string data, output;
  int64_t n = 1000;
  uint64_t seed = 1;
  double length_power = 1.0;
  size_t min_thinking_chars = 0, max_thinking_chars = 0;
  std::string grader = "math";
  data::ReferenceModelOptions reference;
};

int run_curate(const CurateCliOptions& o) {
  if (o.n < 0) fail("--n must be >= 0, got {}", o.n);
  if (o.length_power < 0) fail("--length-power must be >= 0, got {}", o.length_power);
  std::vector<nlohmann::json> input = data::read_jsonl(o.data);
  std::vector<data::CurationRecord> records;
  for (size_t i = 0; i < input.size(); ++i) records.push_back(data::read_curation_record(input[i], i));

  data::CurateOptions options;
  options.n = o.n;
  options.seed = o.seed;
  options.length_power = o.length_power;
  options.min_thinking_chars = o.min_thinking_chars;
  options.max_thinking_chars = o.max_thinking_chars;
  if (o.grader == "exact") {  // the normalized strings alone, no numeric or structural comparison
    options.checker.equivalent = [](std::string_view a, std::string_view b) {
      return normalize_answer(a) == normalize_answer(b);
    };
  } else if (o.grader != "math") {
    fail("--grader must be 'math' or 'exact', got '{}'", o.grader);
  }
  if (!o.reference.model_path.empty()) {
    options.reference_solver = [&o](const std::vector<std::string>& questions) {
      log_info("asking {} to solve {} questions", o.reference.model_path, questions.size());
      return data::solve_with_reference_model(o.reference, questions, [](size_t done, size_t total) {
        log_info("reference model: {}/{} questions", done, total);
      });
    };
  }
  data::CurateResult result = data::curate(records, options);
  data::JsonlWriter out(o.output);
  for (size_t i : result.kept) out.write(input[i]);
  std::fputs(data::format_curate_report(result, input.size()).c_str(), stdout);
  return 0;
}

void add_curate(CLI::App& data, std::function<int()>& runner) {
  auto o = std::make_shared<CurateCliOptions>();
  CLI::App* app = data.add_subcommand("curate", "Keep a small, correct, hard and diverse subset (s1's three criteria)");
  app->option_defaults()->always_capture_default();
  app->add_option("--data", o->data, "Input JSONL: generated tasks, distilled traces or s1K-style rows")->required();
  app->add_option("--n", o->n, "How many to keep");
  app->add_option("--seed", o->seed, "Random seed of the diversity sampling");
  app->add_option("--length-power", o->length_power, "Within a domain, weight = thinking length ^ this (0: uniform)");
  app->add_option("--min-thinking-chars", o->min_thinking_chars, "Drop shorter traces as too easy");
  app->add_option("--max-thinking-chars", o->max_thinking_chars, "Drop longer traces (0: no limit)");
  app->add_option("--grader", o->grader, "Answer comparison: math (LaTeX-aware, eval's) or exact (normalized string)");
  app->add_option("--reference-model", o->reference.model_path, "GGUF model: drop the questions it already solves");
  app->add_option("--reference-think-max", o->reference.think_max, "Its thinking budget in tokens (0: answer at once)");
  app->add_option("--reference-max-tokens", o->reference.max_tokens, "Its token limit per question");
  app->add_option("--reference-batch", o->reference.batch, "Questions it decodes together");
  app->add_option("-t,--threads", o->reference.n_threads, "Threads for the reference model (0: all cores)");
  app->add_option("-o,--out", o->output, "Output JSONL of the kept records, unchanged")->required();
  app->callback([o, &runner] { runner = [o] { return run_curate(*o); }; });
}

struct DistillCliOptions {
  data::DistillOptions options;
  int max_tokens = 0;
  double temperature = -1;
};

int run_distill(DistillCliOptions o) {
  if (o.options.output_path.empty()) {
    std::filesystem::path questions(o.options.questions_path);
    o.options.output_path = (questions.parent_path() / questions.stem()).string() + ".distilled.jsonl";
  }
  if (o.max_tokens > 0) o.options.max_tokens = o.max_tokens;
  if (o.temperature >= 0) o.options.temperature = o.temperature;
  data::DistillStats stats = data::distill(o.options, [](const std::string& line) { log_info("{}", line); });
  std::fputs(fmt::format("{} questions: {} distilled, {} already in {}, {} failed\n", stats.questions, stats.distilled,
                         stats.already_done, o.options.output_path, stats.failed)
                 .c_str(),
             stdout);
  if (stats.failed) fail("{} questions failed; rerun the same command to retry them", stats.failed);
  return 0;
}

void add_distill(CLI::App& data, std::function<int()>& runner) {
  auto o = std::make_shared<DistillCliOptions>();
  CLI::App* app = data.add_subcommand("distill", "Collect reasoning traces from an OpenAI-compatible teacher server");
  app->option_defaults()->always_capture_default();
  app->add_option("--endpoint", o->options.client.base_url, "Server address (http://host:port, .../v1 or the full URL)")
      ->required();
  app->add_option("--model", o->options.model, "Teacher model name to request");
  app->add_option("--api-key", o->options.client.api_key, "Sent as a Bearer token");
  app->add_option("--questions", o->options.questions_path, "JSONL with question (or problem) per line")->required();
  app->add_option("-o,--out", o->options.output_path,
                  "Output JSONL, appended to; questions already there are skipped (default: QUESTIONS.distilled.jsonl)");
  app->add_option("--rps", o->options.rps, "Requests started per second at most (0: no limit)");
  app->add_option("--parallel", o->options.parallel, "Requests in flight at once");
  app->add_option("--limit", o->options.limit, "Distill at most this many new questions");
  app->add_option("--max-tokens", o->max_tokens, "max_tokens per request (default: the server's)");
  app->add_option("--temperature", o->temperature, "Sampling temperature (default: the server's)");
  app->add_option("--system", o->options.system_prompt, "A system message sent before each question");
  app->add_option("--timeout", o->options.client.timeout_seconds, "Seconds per try");
  app->add_option("--retries", o->options.client.max_retries, "Retries on connection errors, 429 and 5xx");
  app->callback([o, &runner] { runner = [o] { return run_distill(*o); }; });
}

struct ExportOptions {
  std::string format = "s1k";
  std::string data, output, source = "s1.cpp";
};

int run_export(const ExportOptions& o) {
  if (o.format != "s1k") fail("--format '{}' is not supported (s1k)", o.format);
  const std::vector<nlohmann::json> input = data::read_jsonl(o.data);
  data::JsonlWriter out(o.output);
  for (size_t i = 0; i < input.size(); ++i) {
    const data::CurationRecord r = data::read_curation_record(input[i], i);
    if (r.question.empty() || r.thinking.empty() || r.answer_text.empty())
      fail("{}: line {} lacks a question, a thinking trace or an answer", o.data, i + 1);
    out.write(data::to_s1k_row(r, o.source));
  }
  log_info("wrote {} rows in s1K's columns to {}", input.size(), o.output);
  return 0;
}

void add_export(CLI::App& data, std::function<int()>& runner) {
  auto o = std::make_shared<ExportOptions>();
  CLI::App* app = data.add_subcommand("export", "Write records in s1K's columns (JSONL) for s1's PyTorch training");
  app->option_defaults()->always_capture_default();
  app->add_option("--format", o->format, "Output columns: s1k (question, thinking_trajectories, attempt, ...)");
  app->add_option("--data", o->data, "Input JSONL: generated, distilled or curated records")->required();
  app->add_option("--source", o->source, "source_type of records that name none");
  app->add_option("output", o->output, "Output JSONL")->required();
  app->callback([o, &runner] { runner = [o] { return run_export(*o); }; });
}

}  // namespace
}  // namespace s1::cli

S1_COMMAND(data, "Generate, curate, distill and export reasoning data; learn a small vocabulary") {
  auto runner = std::make_shared<std::function<int()>>();
  app.require_subcommand(1);
  s1::cli::add_generate(app, *runner);
  s1::cli::add_vocab(app, *runner);
  s1::cli::add_curate(app, *runner);
  s1::cli::add_distill(app, *runner);
  s1::cli::add_export(app, *runner);
  return [runner] { return (*runner)(); };
}
