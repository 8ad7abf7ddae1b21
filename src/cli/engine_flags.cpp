#include "cli/engine_flags.h"

#include "cli/default_model.h"

#include <thread>

#include "util/error.h"
#include "util/log.h"
#include "util/thread_pool.h"

namespace s1::cli {

void add_engine_flags(CLI::App& app, EngineFlags& flags) {
  add_model_option(app, flags.options.model_path, "Model file (GGUF)");
  app.add_option("-c,--ctx,--ctx-size", flags.options.n_ctx, "KV cache capacity in tokens, shared by all sequences")
      ->check(CLI::Range(16, 1 << 24));
  app.add_option("-t,--threads", flags.options.n_threads, "Threads (default: every core)")
      ->check(CLI::Range(0, 4096));
  app.add_option("--kv-type", flags.kv_type, "KV cache element type")->check(CLI::IsMember({"f16", "f32"}));
  add_cache_ram_flag(app, flags.options.cache_ram_mb);
}

void add_cache_ram_flag(CLI::App& app, int& cache_ram_mb) {
  app.add_option("--cache-ram", cache_ram_mb,
                 "MiB of KV cache that finished prompts may keep for later requests that start the same way "
                 "(0: none)")
      ->check(CLI::Range(0, 1 << 24))
      ->capture_default_str();
}

EngineOptions EngineFlags::resolve() const {
  EngineOptions resolved = options;
  resolved.model_path = model_or_bundled(options.model_path);
  resolved.kv_type = kv_type == "f32" ? DType::F32 : DType::F16;
  return resolved;
}

void add_budget_flags(CLI::App& app, BudgetParams& budget, ThinkingOverrides& thinking) {
  app.add_option_function<int>("--think-max", [&budget](int v) { budget.think_max = v; },
                               "Force the end of thinking after N tokens (budget forcing)");
  app.add_option("--think-min", budget.think_min, "Forbid ending the thinking before N tokens ('Wait' instead)");
  app.add_option("--wait", budget.wait, "Replace the model's first K attempts to stop thinking with the wait text");
  app.add_option("--wait-text", budget.wait_text, "Text appended when an attempt to stop is refused");
  app.add_option_function<int>("--answer-max", [&budget](int v) { budget.answer_max = v; },
                               "Answer tokens at most after the thinking");
  app.add_option_function<std::string>(
      "--think-stop", [&budget](const std::string& v) { budget.probe = parse_think_stop(v); },
      "End the thinking early: probe[:K[:EVERY]] forks the sequence every EVERY thinking tokens (default 32), "
      "answers greedily on the fork, and ends the thinking once K (default 2) such answers agree; natural: no "
      "rule");
  app.add_option_function<std::string>("--think-open", [&thinking](const std::string& v) { thinking.open = v; },
                                       "Text that opens the thinking block (overrides detection)");
  app.add_option_function<std::string>("--think-close", [&thinking](const std::string& v) { thinking.close = v; },
                                       "Text that ends the thinking block (overrides detection)");
  app.add_option_function<std::string>("--answer-prefix",
                                        [&thinking](const std::string& v) { thinking.answer_prefix = v; },
                                        "Text appended after a forced end of thinking");
}

}  // namespace s1::cli
