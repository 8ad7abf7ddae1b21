#include "data/reference_solver.h"

#include <algorithm>

#include "api/engine.h"
#include "util/error.h"
#include "util/log.h"

namespace s1::data {

std::vector<std::string> solve_with_reference_model(const ReferenceModelOptions& options,
                                                    const std::vector<std::string>& questions,
                                                    const std::function<void(size_t, size_t)>& progress) {
  if (options.think_max < 0) fail("--reference-think-max must be >= 0, got {}", options.think_max);
  if (options.max_tokens < 1) fail("--reference-max-tokens must be >= 1, got {}", options.max_tokens);
  if (options.batch < 1) fail("--reference-batch must be >= 1, got {}", options.batch);
  if (questions.empty()) return {};
  // Room in the shared KV cache for a batch of prompts and their answers; a
  // longer question is not run (it counts as unsolved, so curation keeps it).
  constexpr int kPromptAllowance = 1024;
  EngineOptions engine_options;
  engine_options.model_path = options.model_path;
  engine_options.n_ctx = options.batch * (kPromptAllowance + options.max_tokens + 8);
  engine_options.n_threads = options.n_threads;
  engine_options.max_sequences = options.batch;
  Engine engine(engine_options);
  const bool has_thinking = engine.thinking_format().has_thinking();
  std::vector<std::string> answers(questions.size());
  for (size_t start = 0; start < questions.size(); start += size_t(options.batch)) {
    const size_t end = std::min(questions.size(), start + size_t(options.batch));
    std::vector<std::pair<size_t, int>> in_flight;
    for (size_t q = start; q < end; ++q) {
      GenerationRequest request =
          engine.chat_request(nlohmann::json::array({{{"role", "user"}, {"content", questions[q]}}}));
      if (int(request.prompt.size()) > kPromptAllowance) {
        log_warn("question {} has a {}-token prompt, over {}: not given to the reference model", q,
                 request.prompt.size(), kPromptAllowance);
        continue;
      }
      request.sampling.temperature = 0;
      request.max_tokens = options.max_tokens;
      if (has_thinking) request.budget.think_max = options.think_max;
      in_flight.emplace_back(q, engine.generator().submit(std::move(request)));
    }
    while (engine.generator().step()) {
    }
    for (auto [q, id] : in_flight) {
      GenerationResult result = engine.generator().take_result(id);
      if (!result.samples.empty()) answers[q] = result.samples[0].answer;
    }
    if (progress) progress(end, questions.size());
  }
  return answers;
}

}  // namespace s1::data
