#pragma once
// The final record of a generation as JSON, the same for `s1 run --json`, the
// evaluator's records and the server.
#include <nlohmann/json.hpp>

#include "reasoning/generator.h"

namespace s1 {

// Fields: thinking_tokens, answer_tokens, forced_end, waits, prefill_tokens,
// computed_tokens, appended_tokens, answer, thinking, finish_reason, timings
// (seconds), samples (each with the same per-sample fields), vote.
nlohmann::json to_json(const GenerationResult& result);
nlohmann::json to_json(const SampleRecord& sample);

}  // namespace s1
