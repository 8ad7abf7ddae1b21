// `s1 eval`: run a benchmark over a sweep of thinking settings on a local
// model or an OpenAI-compatible endpoint, appending one graded record per
// (problem, setting, repeat) to DIR/records.jsonl (rerunning resumes), then
// writing summary.json, results.csv and scaling.svg. `s1 eval report DIR`
// redraws those from the records; `--shard I/N` runs one slice and
// `s1 eval merge OUT DIR...` combines slices. See docs/eval.md.
#include <unistd.h>

#include <charconv>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <set>

#include "api/engine.h"
#include "api/openai_client.h"
#include "cli/command.h"
#include "cli/default_model.h"
#include "cli/engine_flags.h"
#include "cli/grammar_flags.h"
#include "cli/number_checks.h"
#include "cli/sampling_flags.h"
#include "eval/progress.h"
#include "eval/records.h"
#include "eval/report.h"
#include "eval/runner.h"
#include "util/error.h"

namespace s1::cli {
namespace {

constexpr int kDefaultEvalCtx = 32768;

struct EvalOptions {
  EngineFlags engine;
  std::string endpoint, api_key, model_name, dataset, out;
  double timeout = 600;
  int retries = 4;
  bool no_budget_fields = false;
  DatasetOptions data;
  SweepLists sweep;
  int repeats = 1;
  EvalRunOptions run;
  CostModel cost;
  PlotAxis plot_x = PlotAxis::thinking;
  int shard_index = 0, shard_count = 1;  // --shard I/N: the problems whose index is I modulo N
  std::string report_dir, merge_out;
  std::vector<std::string> merge_dirs;
  CLI::App* report = nullptr;
  CLI::App* merge = nullptr;
};

// --endpoint's comma-separated addresses; an empty one is an error.
std::vector<std::string> split_urls(const std::string& text) {
  std::vector<std::string> urls = split_list(text);
  for (const std::string& url : urls)
    if (url.empty()) fail("--endpoint '{}': an empty address in the list", text);
  return urls;
}

// "I/N" with 0 <= I < N.
void parse_shard(const std::string& text, EvalOptions& o) {
  const size_t slash = text.find('/');
  int index = -1, count = 0;
  auto number = [](std::string_view digits, int& out) {
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
    return !digits.empty() && ec == std::errc() && end == digits.data() + digits.size();
  };
  if (slash == std::string::npos || !number(std::string_view(text).substr(0, slash), index) ||
      !number(std::string_view(text).substr(slash + 1), count) || count < 1 || index < 0 || index >= count)
    fail("--shard '{}': give I/N with 0 <= I < N, e.g. 0/3", text);
  o.shard_index = index;
  o.shard_count = count;
}

std::atomic<bool> g_stop{false};
// The first Ctrl-C lets the work in flight end and writes the summary; a second one kills.
void request_stop(int signal) {
  g_stop = true;
  std::signal(signal, SIG_DFL);
}

void print_summary(const nlohmann::json& summary, const std::string& dir) {
  for (const auto& s : summary.at("settings")) {
    const auto& ci = s.at("accuracy_ci95");
    std::string line = fmt::format(
        "{:<36} accuracy {:5.1f}% [{:.1f}-{:.1f}] ({}/{}, {} unparsed)  thinking {:.0f}  answer {:.0f}  total {:.0f} tokens",
        s.at("label").get<std::string>(), 100 * s.at("accuracy").get<double>(), 100 * ci.at(0).get<double>(),
        100 * ci.at(1).get<double>(), s.at("correct").get<int>(), s.at("count").get<int>(),
        s.at("unparsed").get<int>(), s.at("mean_thinking_tokens").get<double>(),
        s.at("mean_answer_tokens").get<double>(), s.at("mean_total_tokens").get<double>());
    if (!s.at("control").is_null())
      line += fmt::format("  control {:.0f}%", 100 * s.at("control").get<double>());
    if (s.at("n").get<int>() > 1) line += fmt::format("  samples {:.2f}", s.at("mean_samples").get<double>());
    if (s.value("mean_probe_tokens", 0.0) > 0)
      line += fmt::format("  (probes {:.0f} of them)", s.at("mean_probe_tokens").get<double>());
    std::cout << line << '\n';
  }
  const auto& m = summary.at("metrics");
  auto shown = [](const nlohmann::json& v, double scale, const char* unit) {
    return v.is_null() ? std::string("n/a") : fmt::format("{:.4g}{}", scale * v.get<double>(), unit);
  };
  std::cout << fmt::format("control {}, scaling {}, performance {}\n", shown(m.at("control"), 100, "%"),
                           shown(m.at("scaling"), 100000, " points per 1k thinking tokens"),
                           shown(m.at("performance"), 100, "%"));
  std::cout << fmt::format("wrote {0}/summary.json, {0}/results.csv, {0}/scaling.svg\n", dir);
}

// The model a server serves when the user names none: the first of /v1/models,
// else "default" (servers that serve one model ignore the name).
std::string first_model(const OpenAIClient& client) {
  try {
    auto ids = client.list_models();
    if (!ids.empty()) return ids.front();
  } catch (const Error&) {
    // Unreachable or no model list: the first chat request reports the problem.
  }
  return "default";
}

// The tasks of this run: every (setting, repeat, problem) of the shard; the
// problem index (which also seeds the sampling) is the same in every shard.
std::vector<EvalTask> plan(const Dataset& dataset, const std::vector<EvalSetting>& settings, const EvalOptions& o,
                           const RecordLog& log, int& done, int& correct) {
  std::vector<EvalTask> pending;
  std::set<std::string> planned;
  for (const auto& setting : settings)
    for (int sample = 0; sample < o.repeats; ++sample)
      for (size_t i = o.shard_index; i < dataset.problems.size(); i += size_t(o.shard_count)) {
        EvalTask task{&dataset.problems[i], int(i), &setting, sample,
                      record_key(dataset.name, dataset.problems[i].id, setting.key(), sample)};
        planned.insert(task.key);
        if (!log.done(task.key)) pending.push_back(std::move(task));
      }
  done = correct = 0;
  for (const auto& record : log.existing())
    if (planned.count(record_key(record))) {
      ++done;
      correct += record.value("verdict", "") == "correct";
    }
  return pending;
}

// `s1 eval merge OUT DIR...`: the shards' records into OUT (records already
// there are kept; a key seen twice, as from a retried shard, is kept once),
// then OUT's report.
int merge_shards(const EvalOptions& o) {
  std::error_code ec;
  std::filesystem::create_directories(o.merge_out, ec);
  if (ec) fail("{}: cannot create the output folder: {}", o.merge_out, ec.message());
  const auto out = std::filesystem::path(o.merge_out) / "records.jsonl";
  std::vector<std::string> sources;
  for (const std::string& dir : o.merge_dirs) {
    const auto path = std::filesystem::path(dir) / "records.jsonl";
    if (std::filesystem::equivalent(path, out, ec)) fail("eval merge: {} is the output folder", dir);
    sources.push_back(path.string());
  }
  RecordLog log(out.string());
  const MergeCounts counts = merge_records(sources, log);
  std::cerr << fmt::format("eval merge: {} records added, {} duplicates dropped", counts.added, counts.duplicates);
  if (counts.conflicts > 0)
    std::cerr << fmt::format(" ({} of them with another verdict than the record kept: the shards' runs differed)",
                             counts.conflicts);
  std::cerr << '\n';
  print_summary(write_report(o.merge_out, o.cost, o.plot_x), o.merge_out);
  return 0;
}

int run_eval(EvalOptions& o) {
  if (o.report->parsed()) {
    print_summary(write_report(o.report_dir, o.cost, o.plot_x), o.report_dir);
    return 0;
  }
  if (o.merge->parsed()) return merge_shards(o);
  const bool local = o.endpoint.empty();  // no -m and no --endpoint: the bundled model
  if (!local && !o.engine.options.model_path.empty())
    fail("eval: give a model (-m MODEL) or a server (--endpoint URL), not both");
  if (local) o.engine.options.model_path = model_or_bundled(o.engine.options.model_path);
  if (o.dataset.empty()) fail("eval: give --dataset (a named set or a JSONL file)");
  const std::vector<EvalSetting> settings = expand_sweep(o.sweep);
  const Dataset dataset = load_dataset(o.dataset, o.data);
  if (o.out.empty()) o.out = "eval-" + dataset.name;
  std::error_code ec;
  std::filesystem::create_directories(o.out, ec);
  if (ec) fail("{}: cannot create the output folder: {}", o.out, ec.message());

  RecordLog log((std::filesystem::path(o.out) / "records.jsonl").string());
  int done = 0, correct = 0;
  const std::vector<EvalTask> tasks = plan(dataset, settings, o, log, done, correct);
  const std::string shard =
      o.shard_count > 1 ? fmt::format(" (shard {}/{}: every {}th from {})", o.shard_index, o.shard_count,
                                      o.shard_count, o.shard_index)
                        : "";
  std::cerr << fmt::format("eval: {} problems{} x {} settings x {} repeats: {} done, {} to run\n",
                           dataset.problems.size(), shard, settings.size(), o.repeats, done, tasks.size());

  Progress progress(done + int(tasks.size()), done, correct, isatty(STDERR_FILENO));
  std::string engine_name;
  const TaskDone record = [&](const EvalTask& task, const TaskOutcome& outcome) {
    nlohmann::json r = make_record(dataset.name, task, outcome, outcome.engine.empty() ? engine_name : outcome.engine);
    log.append(r);
    progress.add(r["verdict"] == "correct");
  };
  std::signal(SIGINT, request_stop);
  std::signal(SIGTERM, request_stop);
  try {
    if (local) {
      int max_sequences = 2;  // per problem: its samples (and their probes) and the prompt's copy
      for (const auto& s : settings)
        max_sequences = std::max(max_sequences, s.n * (s.think_stop ? 1 + Generator::kProbesInFlight : 1) + 1);
      EngineOptions engine_options = o.engine.resolve();
      engine_options.max_sequences = std::max(engine_options.max_sequences, o.run.parallel * max_sequences);
      engine_name = "local:" + std::filesystem::path(engine_options.model_path).filename().string();
      if (!tasks.empty()) {
        Engine engine(engine_options);
        run_local(engine, tasks, o.run, record, g_stop);
      }
    } else {
      std::vector<std::unique_ptr<OpenAIClient>> clients;
      std::vector<const OpenAIClient*> endpoints;
      for (const std::string& url : split_urls(o.endpoint)) {
        clients.push_back(std::make_unique<OpenAIClient>(OpenAIClientOptions{url, o.api_key, o.timeout, o.retries, 1.0}));
        endpoints.push_back(clients.back().get());
      }
      o.run.model_name = o.model_name.empty() ? first_model(*clients.front()) : o.model_name;
      o.run.budget_fields = !o.no_budget_fields;
      run_endpoints(endpoints, tasks, o.run, record, g_stop);
    }
  } catch (const Error& e) {
    progress.finish();
    fail("{} ({} records are kept in {}/records.jsonl; rerun the same command to resume)", e.what(),
         read_records((std::filesystem::path(o.out) / "records.jsonl").string()).size(), o.out);
  }
  progress.finish();
  print_summary(write_report(o.out, o.cost, o.plot_x), o.out);
  if (g_stop) {
    std::cerr << "eval: interrupted; rerun the same command to resume\n";
    return 130;
  }
  return 0;
}

}  // namespace

S1_COMMAND(eval, "Benchmark a model or an OpenAI-compatible server over a sweep of thinking budgets") {
  auto o = std::make_shared<EvalOptions>();
  o->engine.options.n_ctx = kDefaultEvalCtx;
  o->run.sampling.temperature = 0;  // greedy, as the s1 paper evaluates
  if (const char* key = std::getenv("OPENAI_API_KEY")) o->api_key = key;
  add_engine_flags(app, o->engine);
  app.add_option("--endpoint", o->endpoint,
                 "Evaluate OpenAI-compatible servers instead (http://host:port[,http://host2:port...]: "
                 "--parallel workers each; a failed server's problems go to the others)");
  app.add_option("--api-key", o->api_key, "Bearer key for --endpoint (default: $OPENAI_API_KEY)");
  app.add_option("--model-name", o->model_name,
                 "The 'model' sent to --endpoint (default: the first one its /v1/models lists)");
  app.add_option("--timeout", o->timeout, "Seconds per HTTP request")->check(s1::cli::positive_number());
  app.add_option("--retries", o->retries, "HTTP retries (exponential backoff) before giving up")
      ->check(CLI::Range(0, 100));
  app.add_flag(
      "--no-budget-fields", o->no_budget_fields,
      "Do not send the 'thinking' budget object to --endpoint (for servers that reject unknown fields)");

  app.add_option("--dataset", o->dataset, "aime24, aime25, amc23, math500, gsm8k, or a JSONL file");
  app.add_option("--data-dir", o->data.data_dir,
                 "Folder of the named datasets (default: ../shared/datasets)");
  app.add_option("--question-field", o->data.question_field, "JSONL field of the question");
  app.add_option("--answer-field", o->data.answer_field, "JSONL field of the reference answer");
  app.add_option("--choices-field", o->data.choices_field, "JSONL field of multiple-choice options")
      ->capture_default_str();
  app.add_option("--limit", o->data.limit, "Only the first K problems")->check(s1::cli::non_negative_number());

  app.add_option("--think-max", o->sweep.think_max,
                 "Thinking budgets to sweep, e.g. 0,256,1024 ('none': unlimited)");
  app.add_option("--think-min", o->sweep.think_min, "Minimum thinking lengths to sweep");
  app.add_option("--wait", o->sweep.wait, "Wait extensions to sweep");
  app.add_option("--think-stop", o->sweep.think_stop,
                 "Stop rules to sweep: natural, probe[:K[:EVERY]] (end the thinking once K probe answers, one "
                 "every EVERY thinking tokens, agree), e.g. natural,probe:2:16");
  app.add_option("--n", o->sweep.n, "Samples per problem to sweep (voted into one answer)")
      ->capture_default_str();
  app.add_option("--vote", o->sweep.vote, "Vote methods to sweep: majority, weighted, best, adaptive")
      ->capture_default_str();
  app.add_option("--vote-confidence", o->run.vote_confidence,
                 "--vote adaptive: stop sampling once the leader is the likelier answer with this probability")
      ->check(CLI::Range(0.5, 1.0))
      ->capture_default_str();
  app.add_option("--method", o->sweep.method,
                 "Thinking control methods to sweep: budget, token-conditional, step-conditional, "
                 "class-conditional, rejection")
      ->capture_default_str();
  app.add_option("--repeats", o->repeats, "Independent runs of every (problem, setting), each its own record")
      ->check(CLI::Range(1, 1000));
  app.add_option("--wait-text", o->run.wait_text, "Text appended when an attempt to stop is refused");
  app.add_option("--answer-max", o->run.answer_max, "Answer tokens after the thinking at most")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  app.add_option("--max-tokens", o->run.max_tokens, "Tokens per sample when no thinking budget bounds it")
      ->check(CLI::Range(1, 1 << 24))
      ->capture_default_str();
  app.add_option("--tries", o->run.tries, "Rejection method: tries per problem at most")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--parallel", o->run.parallel,
                 "Problems in flight at once (local) or HTTP workers per endpoint")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  ThinkingOverrides& thinking = o->engine.options.thinking;
  app.add_option_function<std::string>(
      "--think-open", [&thinking](const std::string& v) { thinking.open = v; },
      "Text that opens the thinking block (overrides detection)");
  app.add_option_function<std::string>(
      "--think-close", [&thinking](const std::string& v) { thinking.close = v; },
      "Text that ends the thinking block (overrides detection)");
  app.add_option_function<std::string>(
      "--answer-prefix", [&thinking](const std::string& v) { thinking.answer_prefix = v; },
      "Text appended after a forced end of thinking");
  add_sampling_flags(app, o->run.sampling);
  add_grammar_flags(app, o->run.grammar);

  app.add_option("--out", o->out, "Output folder (default: eval-<dataset>)");
  app.add_option_function<std::string>(
      "--shard", [o](const std::string& v) { parse_shard(v, *o); },
      "Run one slice I/N of the problems (those whose index is I modulo N); combine with 'eval merge'");
  o->report =
      app.add_subcommand("report", "Redraw summary.json, results.csv and scaling.svg from DIR/records.jsonl");
  o->report->add_option("dir", o->report_dir, "The evaluation's output folder")->required();
  o->merge = app.add_subcommand("merge", "Combine the records of shard folders DIR... into OUT and report them");
  o->merge->add_option("out", o->merge_out, "The combined output folder (its records are kept)")->required();
  o->merge->add_option("dirs", o->merge_dirs, "The shards' output folders")->required();
  for (CLI::App* target : {&app, o->report, o->merge}) {
    target->add_option("--watts", o->cost.watts, "Power drawn while running, for the energy figures")
        ->check(s1::cli::non_negative_number())
        ->capture_default_str();
    target->add_option("--usd-per-hour", o->cost.usd_per_hour, "Machine price, for the cost figures")
        ->check(s1::cli::non_negative_number())
        ->capture_default_str();
    target->add_option_function<std::string>(
        "--plot-x", [o](const std::string& v) { o->plot_x = parse_plot_axis(v); },
        "scaling.svg's x axis: thinking (mean thinking tokens) or total (thinking + answer tokens)");
  }
  app.require_subcommand(0, 1);
  return [o] { return run_eval(*o); };
}

}  // namespace s1::cli
