#pragma once
// Flags every model-running command shares: the model and its context
// (-m, --ctx, --threads, --kv-type) and the reasoning controls (--think-max,
// --think-min, --wait, --wait-text, --answer-max, --think-open, --think-close,
// --answer-prefix).
#include <CLI/CLI.hpp>

#include <string>

#include "api/engine.h"
#include "reasoning/budget.h"

namespace s1::cli {

struct EngineFlags {
  EngineOptions options;
  std::string kv_type = "f16";
  EngineOptions resolve() const;  // the bundled model when -m is omitted; s1::Error on bad values
};

void add_engine_flags(CLI::App& app, EngineFlags& flags);
// --cache-ram MB: the prompt cache's cap (EngineOptions::cache_ram_mb).
void add_cache_ram_flag(CLI::App& app, int& cache_ram_mb);
void add_budget_flags(CLI::App& app, BudgetParams& budget, ThinkingOverrides& thinking);

}  // namespace s1::cli
