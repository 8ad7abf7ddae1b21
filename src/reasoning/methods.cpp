#include "reasoning/methods.h"

#include <fmt/format.h>

#include "util/error.h"

namespace s1 {

ControlMethod parse_control_method(std::string_view name) {
  if (name == "budget") return ControlMethod::budget;
  if (name == "token-conditional") return ControlMethod::token_conditional;
  if (name == "step-conditional") return ControlMethod::step_conditional;
  if (name == "class-conditional") return ControlMethod::class_conditional;
  if (name == "rejection") return ControlMethod::rejection;
  fail("unknown method '{}' (choose budget, token-conditional, step-conditional, class-conditional or rejection)",
       name);
}

const char* control_method_name(ControlMethod method) {
  switch (method) {
    case ControlMethod::budget: return "budget";
    case ControlMethod::token_conditional: return "token-conditional";
    case ControlMethod::step_conditional: return "step-conditional";
    case ControlMethod::class_conditional: return "class-conditional";
    case ControlMethod::rejection: return "rejection";
  }
  return "?";
}

std::string apply_control_instruction(ControlMethod method, std::string_view question, std::optional<int> think_max) {
  std::string text(question);
  switch (method) {
    case ControlMethod::budget:
    case ControlMethod::rejection:
      return text;
    case ControlMethod::token_conditional:
      if (!think_max) fail("token-conditional control needs a thinking budget (--think-max)");
      return text + fmt::format("\n\nThink for up to {} tokens.", *think_max);
    case ControlMethod::step_conditional:
      if (!think_max) fail("step-conditional control needs a thinking budget (--think-max)");
      return text + fmt::format("\n\nThink for up to {} steps, each of about {} tokens.",
                                std::max(1, *think_max / kTokensPerStep), kTokensPerStep);
    case ControlMethod::class_conditional:
      if (think_max && *think_max <= kShortThinkingTokens)
        return text + "\n\nThink briefly: answer after a short amount of thought.";
      return text + "\n\nThink thoroughly: take as long as you need and check your work.";
  }
  return text;
}

GenerationResult run_rejection_sampling(Generator& generator, GenerationRequest request, int think_max,
                                        int max_tries, int* tries) {
  if (max_tries < 1) fail("rejection sampling needs at least one try, got {}", max_tries);
  request.budget.think_max.reset();
  request.budget.reject_over = think_max;
  GenerationResult result;
  for (int attempt = 0; attempt < max_tries; ++attempt) {
    GenerationRequest this_try = request;
    if (this_try.sampling.seed) this_try.sampling.seed = *this_try.sampling.seed + uint64_t(attempt) * 1000003u;
    result = generator.run(std::move(this_try));
    if (tries) *tries = attempt + 1;
    if (result.samples[0].finish_reason != "rejected") break;
  }
  return result;
}

}  // namespace s1
