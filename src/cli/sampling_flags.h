#pragma once
// The llama.cpp sampling flags (--temp, --top-k, --top-p, --min-p, --repeat-penalty,
// --repeat-last-n, --presence-penalty, --frequency-penalty, --seed, --logit-bias),
// shared by every command that generates text. Out-of-range values are parse errors.
#include <CLI/CLI.hpp>

#include "sampling/sampler.h"

namespace s1::cli {

void add_sampling_flags(CLI::App& app, SamplingParams& params);

}  // namespace s1::cli
