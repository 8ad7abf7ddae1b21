#include "api/reasoning_bench.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "api/engine.h"
#include "util/error.h"

namespace s1 {

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Generated tokens per second of decoding (after the prompt), all samples together.
double decode_tps(const GenerationResult& r) {
  int tokens = 0;
  for (const auto& s : r.samples) tokens += s.thinking_tokens + s.answer_tokens;
  const double seconds = r.total_seconds - r.prefill_seconds;
  return seconds > 0 ? tokens / seconds : 0;
}

std::unique_ptr<Engine> open_engine(const ReasoningBenchParams& p) {
  EngineOptions options{.model_path = p.model,
                        .n_ctx = p.prompt + p.samples * (p.gen + 64) + 64,
                        .n_threads = p.threads,
                        .max_sequences = p.samples + 1,
                        .cache_ram_mb = 0,  // each run computes its prompt: that is what is timed
                        .thinking = {}};
  auto engine = std::make_unique<Engine>(options);
  if (engine->thinking_format().has_thinking()) return engine;
  // A model without a thinking format (a random-weight test model) still
  // measures the controller, with <think> tags spelled as plain text.
  options.thinking = {.open = "<think>", .close = "</think>", .answer_prefix = ""};
  return std::make_unique<Engine>(options);
}

}  // namespace

ReasoningBenchResult run_reasoning_bench(const ReasoningBenchParams& p) {
  if (p.prompt < 1 || p.gen < 1 || p.samples < 2 || p.repeats < 1)
    fail("bench --reasoning: --prompt, --gen and --repeats must be at least 1, --samples at least 2");
  auto engine = open_engine(p);
  const Tokenizer& tokenizer = engine->tokenizer();

  GenerationRequest base;
  while (int(base.prompt.size()) < p.prompt)
    tokenizer.encode("Natalia sold clips to 48 of her friends in April, and then half as many in May. ", base.prompt);
  base.prompt.resize(size_t(p.prompt));
  base.max_tokens = p.gen;
  base.sampling.temperature = 0;  // greedy: both sides decode the same way
  // Generation never stops early, so every run decodes exactly `gen` tokens per sample.
  for (int32_t id = 0; id < tokenizer.n_vocab(); ++id)
    if (tokenizer.is_end_of_generation(id)) base.sampling.logit_bias[id] = -INFINITY;

  GenerationRequest controlled = base;
  controlled.budget.think_min = p.gen + 1;  // the controller watches every token and never lets go

  Generator& generator = engine->generator();
  ReasoningBenchResult r;
  r.threads = engine->context().n_threads();
  std::vector<double> plain, forced, single, parallel;
  generator.run(base);  // warm-up: page in the weights, grow the buffers
  for (int i = 0; i < p.repeats; ++i) {
    plain.push_back(decode_tps(generator.run(base)));
    forced.push_back(decode_tps(generator.run(controlled)));
  }
  GenerationRequest fan_out = base;
  fan_out.n = p.samples;
  for (int i = 0; i < p.repeats; ++i) {
    single.push_back(decode_tps(generator.run(base)));
    GenerationResult result = generator.run(fan_out);
    parallel.push_back(decode_tps(result));
    r.parallel_prefill_tokens = result.prefill_tokens;
  }
  // Constrained answers: the prompt leaves thinking closed, so every token
  // is the answer's; neither grammar can ever be complete, so all `gen` are decoded.
  GenerationRequest sampled = base;
  sampled.prompt_thinking = PromptThinking::closed;
  sampled.sampling.temperature = 0.8f;
  sampled.sampling.top_k = 40;
  sampled.sampling.seed = 1;
  GenerationRequest json_string = sampled, digits = sampled;
  json_string.grammar = std::make_shared<const Grammar>(
      Grammar::parse(R"(root ::= "{\"text\": \"" ([^"\\\x7F\x00-\x1F] | "\\" ["\\/bfnrt])*)"));
  digits.grammar = std::make_shared<const Grammar>(Grammar::parse("root ::= [0-9]+ (\",\" [0-9]+)*"));
  auto choice_us = [&](const GenerationResult& result) { return 1e6 * result.sampling_seconds / p.gen; };
  std::vector<double> free_tps, free_us, string_us, digit_us;
  for (int i = 0; i < p.repeats; ++i) {
    const GenerationResult free_result = generator.run(sampled);
    free_tps.push_back(decode_tps(free_result));
    free_us.push_back(choice_us(free_result));
    string_us.push_back(choice_us(generator.run(json_string)));
    digit_us.push_back(choice_us(generator.run(digits)));
  }
  r.sampled_tps = median(free_tps);
  r.sampling_us = median(free_us);
  r.json_string_sampling_us = median(string_us);
  r.digits_sampling_us = median(digit_us);
  const double token_us = 1e6 / r.sampled_tps;
  r.json_string_overhead = (r.json_string_sampling_us - r.sampling_us) / token_us;
  r.digits_overhead = (r.digits_sampling_us - r.sampling_us) / token_us;

  r.plain_tps = median(plain);
  r.controlled_tps = median(forced);
  r.controller_overhead = 1.0 - r.controlled_tps / r.plain_tps;
  r.single_tps = median(single);
  r.parallel_tps = median(parallel);
  r.parallel_speedup = r.parallel_tps / r.single_tps;
  return r;
}

}  // namespace s1
