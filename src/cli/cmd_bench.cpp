// `s1 bench`: prefill and decode speed of a model on this machine, peak memory,
// and decode efficiency against the measured memory read bandwidth.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "api/reasoning_bench.h"
#include "cli/command.h"
#include "cli/default_model.h"
#include "cli/number_checks.h"
#include "model/bench.h"
#include "tensor/cpu_features.h"
#include "tensor/kernel_set.h"

namespace {

int run_bench_command(const s1::BenchParams& params, bool json) {
  const s1::BenchResult r = s1::run_bench(params);
  if (json) {
    nlohmann::json j = {{"model", r.model},
                        {"kernels", s1::kernels().name},
                        {"cpu", s1::cpu_features().model},
                        {"threads", r.threads},
                        {"batch", r.batch},
                        {"prompt", r.prompt},
                        {"gen", r.gen},
                        {"prefill_tps", r.prefill_tps},
                        {"decode_tps", r.decode_tps},
                        {"decode_step_ms", r.step_ms},
                        {"weight_mb_per_step", r.weight_mb_per_step},
                        {"weight_mb_read_per_step", r.weight_mb_read_per_step},
                        {"bandwidth_gbs", r.bandwidth_gbs},
                        {"decode_efficiency", r.decode_efficiency},
                        {"peak_rss_mb", r.peak_rss_mb}};
    std::printf("%s\n", j.dump().c_str());
    return 0;
  }
  std::printf("model              %s\n", r.model.c_str());
  std::printf("kernels            %s (%s)\n", std::string(s1::kernels().name).c_str(),
              s1::cpu_features().model.c_str());
  std::printf("threads            %d\n", r.threads);
  std::printf("prefill            %d tokens, %.1f tok/s\n", r.prompt, r.prefill_tps);
  std::printf("decode             %d steps x %d sequences, %.2f tok/s (%.1f ms/step)\n", r.gen, r.batch,
              r.decode_tps, r.step_ms);
  std::printf("weights per step   %.1f MB (one token's; read per step, measured: %.1f MB)\n", r.weight_mb_per_step,
              r.weight_mb_read_per_step);
  std::printf("read bandwidth     %.1f GB/s\n", r.bandwidth_gbs);
  std::printf("decode efficiency  %.0f%%\n", r.decode_efficiency * 100);
  std::printf("peak RSS           %.0f MB\n", r.peak_rss_mb);
  return 0;
}

int run_reasoning_bench_command(const s1::ReasoningBenchParams& params, bool json) {
  const s1::ReasoningBenchResult r = s1::run_reasoning_bench(params);
  if (json) {
    nlohmann::json j = {{"model", params.model},
                        {"threads", r.threads},
                        {"prompt", params.prompt},
                        {"gen", params.gen},
                        {"samples", params.samples},
                        {"plain_decode_tps", r.plain_tps},
                        {"controlled_decode_tps", r.controlled_tps},
                        {"controller_overhead", r.controller_overhead},
                        {"single_decode_tps", r.single_tps},
                        {"parallel_decode_tps", r.parallel_tps},
                        {"parallel_speedup", r.parallel_speedup},
                        {"parallel_prefill_tokens", r.parallel_prefill_tokens},
                        {"sampled_decode_tps", r.sampled_tps},
                        {"sampling_us_per_token", r.sampling_us},
                        {"grammar_json_string_sampling_us_per_token", r.json_string_sampling_us},
                        {"grammar_json_string_overhead", r.json_string_overhead},
                        {"grammar_digits_sampling_us_per_token", r.digits_sampling_us},
                        {"grammar_digits_overhead", r.digits_overhead}};
    std::printf("%s\n", j.dump().c_str());
    return 0;
  }
  std::printf("model                 %s\n", params.model.c_str());
  std::printf("threads               %d\n", r.threads);
  std::printf("plain decode          %.2f tok/s\n", r.plain_tps);
  std::printf("budget-controlled     %.2f tok/s (controller overhead %.1f%%)\n", r.controlled_tps,
              r.controller_overhead * 100);
  std::printf("n = 1                 %.2f tok/s\n", r.single_tps);
  std::printf("n = %-2d                %.2f tok/s aggregate (%.2fx), prompt of %d computed as %lld positions\n",
              params.samples, r.parallel_tps, r.parallel_speedup, params.prompt, r.parallel_prefill_tokens);
  std::printf("sampled (T 0.8, k 40) %.2f tok/s, choosing a token %.0f us\n", r.sampled_tps, r.sampling_us);
  std::printf("  grammar, JSON string choosing a token %.0f us (overhead %.1f%% of a token's time)\n",
              r.json_string_sampling_us, r.json_string_overhead * 100);
  std::printf("  grammar, digits      choosing a token %.0f us (overhead %.1f%% of a token's time)\n",
              r.digits_sampling_us, r.digits_overhead * 100);
  return 0;
}

}  // namespace

S1_COMMAND(bench, "Measure prefill/decode speed, memory and decode efficiency of a model") {
  auto params = std::make_shared<s1::BenchParams>();
  auto json = std::make_shared<bool>(false);
  s1::cli::add_model_option(app, params->model, "GGUF model file");
  app.add_option("--prompt", params->prompt, "prefill tokens")
      ->capture_default_str()
      ->check(s1::cli::positive_number());
  app.add_option("--gen", params->gen, "decode steps")->capture_default_str()->check(s1::cli::positive_number());
  app.add_option("-t,--threads", params->threads, "threads (default: all cores)")
      ->check(s1::cli::non_negative_number());
  app.add_option("--batch", params->batch, "sequences decoded together")
      ->capture_default_str()
      ->check(s1::cli::positive_number());
  app.add_flag("--json", *json, "print one JSON object");
  auto reasoning = std::make_shared<s1::ReasoningBenchParams>();
  auto reasoning_mode = std::make_shared<bool>(false);
  app.add_flag("--reasoning", *reasoning_mode,
               "measure the budget controller's overhead and n-sample scaling through the generator instead");
  app.add_option("--samples", reasoning->samples, "--reasoning: samples of the parallel run")
      ->capture_default_str()
      ->check(CLI::Range(2, 64));
  app.add_option("--repeats", reasoning->repeats, "--reasoning: alternating runs of each kind (median reported)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  return [params, json, reasoning, reasoning_mode, &app] {
    params->model = s1::cli::model_or_bundled(params->model);
    if (!*reasoning_mode) return run_bench_command(*params, *json);
    reasoning->model = params->model;
    reasoning->threads = params->threads;
    reasoning->gen = app.count("--gen") ? params->gen : 64;
    reasoning->prompt = app.count("--prompt") ? params->prompt : 64;
    return run_reasoning_bench_command(*reasoning, *json);
  };
}
