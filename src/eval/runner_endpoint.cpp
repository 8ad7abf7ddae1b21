// The endpoint backend: a few worker threads, one chat completion per sample.
#include <exception>
#include <mutex>
#include <thread>

#include "api/openai_client.h"
#include "eval/runner.h"
#include "util/log.h"

namespace s1 {
namespace {

struct SharedState {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::atomic<bool> budget_fields;  // cleared for good once the server rejects them
  std::mutex mutex;                 // guards `error` and the done callback
  std::exception_ptr error;
};

nlohmann::json request_body(const EvalTask& task, const EvalRunOptions& options, uint64_t seed,
                            bool budget_fields) {
  const EvalSetting& setting = *task.setting;
  const SamplingParams& sampling = options.sampling;
  nlohmann::json body = {
      {"model", options.model_name},
      {"messages", nlohmann::json::array({{{"role", "user"}, {"content", task_question(task)}}})},
      {"max_tokens", task_max_tokens(options, setting)},
      {"temperature", sampling.temperature},
      {"top_p", sampling.top_p},
      {"seed", seed},
  };
  // s1's reasoning controls, as `s1 serve` reads them (docs/server.md).
  if (budget_fields) {
    nlohmann::json thinking = {{"answer_max_tokens", options.answer_max}};
    if (setting.think_max) thinking["max_tokens"] = *setting.think_max;
    if (setting.think_min) thinking["min_tokens"] = *setting.think_min;
    if (setting.wait) {
      thinking["wait"] = *setting.wait;
      thinking["wait_text"] = options.wait_text;
    }
    body["thinking"] = std::move(thinking);
  }
  if (!options.grammar.empty()) body["grammar"] = options.grammar;  // llama-server's field, and ours
  return body;
}

// Thinking tokens: the count the server reports (s1's per-choice "thinking"
// object, else usage's reasoning_tokens), else the completion's tokens shared
// out by the length of the thinking text.
SampleOutcome sample_of(const ChatResponse& r) {
  SampleOutcome s;
  s.thinking = r.reasoning_content;
  s.answer = r.content;
  s.finish_reason = r.finish_reason;
  const nlohmann::json& choice = r.raw.at("choices").at(0);
  if (auto t = choice.find("thinking"); t != choice.end() && t->is_object() && t->contains("tokens")) {
    s.thinking_tokens = t->value("tokens", 0);
    s.answer_tokens = t->value("answer_tokens", std::max(0, r.completion_tokens - s.thinking_tokens));
    s.waits = t->value("waits", 0);
    s.forced_end = t->value("forced_end", false);
    return s;
  }
  if (r.reasoning_tokens) {
    s.thinking_tokens = *r.reasoning_tokens;
  } else if (!s.thinking.empty()) {
    const double share = double(s.thinking.size()) / double(s.thinking.size() + s.answer.size());
    s.thinking_tokens = int(share * r.completion_tokens + 0.5);
    s.tokens_estimated = true;
  }
  s.answer_tokens = std::max(0, r.completion_tokens - s.thinking_tokens);
  return s;
}

ChatResponse ask(const OpenAIClient& client, const EvalTask& task, const EvalRunOptions& options,
                 uint64_t seed, SharedState& state) {
  const bool with_budget = state.budget_fields && task.setting->method == ControlMethod::budget &&
                           (task.setting->think_max || task.setting->think_min || task.setting->wait);
  try {
    return client.chat(request_body(task, options, seed, with_budget));
  } catch (const HttpStatusError& e) {
    if (!with_budget || e.status() != 400) throw;
    if (state.budget_fields.exchange(false))
      log_warn("{}: the server rejects budget fields ({}); sending only max_tokens from now on", client.url(),
               e.what());
    return client.chat(request_body(task, options, seed, false));
  }
}

TaskOutcome run_task(const OpenAIClient& client, const EvalTask& task, const EvalRunOptions& options,
                     SharedState& state) {
  TaskOutcome outcome;
  outcome.started_at = unix_seconds();
  const int tries = task.setting->method == ControlMethod::rejection ? options.tries : 1;
  for (int attempt = 0; attempt < tries; ++attempt) {
    outcome.samples.clear();
    outcome.tries = attempt + 1;
    for (int i = 0; i < task.setting->n; ++i) {
      ChatResponse r = ask(client, task, options, task_seed(options, task, attempt) + uint64_t(i), state);
      outcome.prompt_tokens = r.prompt_tokens;
      outcome.samples.push_back(sample_of(r));
    }
    // Rejection: keep the try whose thinking fits the budget.
    if (outcome.samples[0].thinking_tokens <= task.setting->think_max.value_or(0)) break;
  }
  outcome.finished_at = unix_seconds();
  return outcome;
}

}  // namespace

void run_endpoint(const OpenAIClient& client, const std::vector<EvalTask>& tasks,
                  const EvalRunOptions& options, const TaskDone& done, const std::atomic<bool>& stop) {
  SharedState state;
  state.budget_fields = options.budget_fields;
  auto worker = [&] {
    while (!stop && !state.failed) {
      const size_t index = state.next++;
      if (index >= tasks.size()) return;
      try {
        TaskOutcome outcome = run_task(client, tasks[index], options, state);
        std::lock_guard lock(state.mutex);
        done(tasks[index], outcome);
      } catch (...) {
        std::lock_guard lock(state.mutex);
        if (!state.error) state.error = std::current_exception();
        state.failed = true;
        return;
      }
    }
  };
  std::vector<std::thread> workers;
  const int n_workers = std::max(1, std::min<int>(options.parallel, int(tasks.size())));
  for (int i = 0; i < n_workers; ++i) workers.emplace_back(worker);
  for (auto& w : workers) w.join();
  if (state.error) std::rethrow_exception(state.error);
}

}  // namespace s1
