#pragma once
// The conversation loop of `s1 chat` (cmd_chat.cpp), which `s1 run` also
// opens when it has no prompt and its input is a terminal.
#include <string>

#include "cli/engine_flags.h"
#include "sampling/sampler.h"

namespace s1::cli {

struct ChatOptions {
  EngineFlags engine;
  SamplingParams sampling;
  BudgetParams budget;
  std::string system;
  int max_tokens = 4096;
  bool json = false;
};

int run_chat(ChatOptions& o);

}  // namespace s1::cli
