#pragma once
// The ways to control thinking length that the s1 paper compares:
//   budget             budget forcing (the controller; reasoning/budget.h)
//   token-conditional  the prompt states a thinking-token budget
//   step-conditional   the prompt states a budget of steps (~100 tokens each)
//   class-conditional  the prompt asks to think briefly or thoroughly
//   rejection          sample until the thinking fits the budget (capped tries)
// The conditional methods only change the prompt; the model may ignore them,
// which is what the paper's Control metric measures.
#include <optional>
#include <string>
#include <string_view>

#include "reasoning/generator.h"

namespace s1 {

enum class ControlMethod { budget, token_conditional, step_conditional, class_conditional, rejection };

ControlMethod parse_control_method(std::string_view name);  // s1::Error listing the choices
const char* control_method_name(ControlMethod method);

constexpr int kTokensPerStep = 100;
// Thinking budgets up to this many tokens count as "briefly" for class-conditional control.
constexpr int kShortThinkingTokens = 512;

// The user message with the method's instruction appended (unchanged for
// budget and rejection).
std::string apply_control_instruction(ControlMethod method, std::string_view question, std::optional<int> think_max);

// Rejection sampling: runs `request` (budget forcing off) until a sample's
// thinking fits within `think_max`, at most `max_tries` times, each try with
// the next seed. Each over-long try stops as soon as it passes the budget.
// The result is the accepted try's, or the last one; `tries` tells how many ran.
GenerationResult run_rejection_sampling(Generator& generator, GenerationRequest request, int think_max,
                                        int max_tries, int* tries);

}  // namespace s1
