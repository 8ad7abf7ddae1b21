// The endpoint backend: worker threads per server, one chat completion per
// sample; a server that fails hands its problems to the others.
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>

#include "api/openai_client.h"
#include "eval/runner.h"
#include "grading/answer.h"
#include "reasoning/vote.h"
#include "util/error.h"
#include "util/log.h"

namespace s1 {
namespace {

// One server's standing.
struct EndpointState {
  std::atomic<bool> budget_fields;  // cleared for good once the server rejects them
  bool failed = false;              // (under the queue's mutex)
  std::exception_ptr error;
};

// The tasks not yet recorded: fresh ones by index, and those a failed server
// had in flight, which the others take first.
struct TaskQueue {
  std::mutex mutex;  // guards everything here and the done callback
  std::condition_variable changed;
  size_t next = 0, remaining = 0;
  std::deque<size_t> returned;
  int live_endpoints = 0;
  std::exception_ptr fatal;  // recording a result failed: every worker stops
};

nlohmann::json request_body(const EvalTask& task, const EvalRunOptions& options, uint64_t seed,
                            bool budget_fields) {
  const EvalSetting& setting = *task.setting;
  const SamplingParams& sampling = options.sampling;
  nlohmann::json body = {
      {"model", options.model_name},
      {"messages", task_messages(task)},
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
    if (setting.think_stop) thinking["stop"] = think_stop_name(setting.think_stop);
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
    s.probes = t->value("probes", 0);
    s.probe_tokens = t->value("probe_tokens", 0);
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
                 uint64_t seed, EndpointState& state) {
  const bool with_budget = state.budget_fields && task.setting->method == ControlMethod::budget &&
                           (task.setting->think_max || task.setting->think_min || task.setting->wait ||
                            task.setting->think_stop);
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
                     EndpointState& state) {
  TaskOutcome outcome;
  outcome.started_at = unix_seconds();
  const int tries = task.setting->method == ControlMethod::rejection ? options.tries : 1;
  for (int attempt = 0; attempt < tries; ++attempt) {
    outcome.samples.clear();
    outcome.tries = attempt + 1;
    std::vector<VoteCandidate> answers;  // for an adaptive vote: stop asking once it is settled
    for (int i = 0; i < task.setting->n; ++i) {
      ChatResponse r = ask(client, task, options, task_seed(options, task, attempt) + uint64_t(i), state);
      outcome.prompt_tokens = r.prompt_tokens;
      outcome.samples.push_back(sample_of(r));
      if (task.setting->vote != VoteMethod::adaptive) continue;
      answers.push_back({extract_answer(outcome.samples.back().answer, task.problem->style), 0});
      if (vote_settled(answers, task.setting->n - i - 1, options.vote_confidence)) break;
    }
    // Rejection: keep the try whose thinking fits the budget.
    if (outcome.samples[0].thinking_tokens <= task.setting->think_max.value_or(0)) break;
  }
  outcome.finished_at = unix_seconds();
  outcome.engine = client.url();
  return outcome;
}

// The next task for a live server: a returned one first; nullopt when none
// is left (or the run stops). Waits while others are in flight, since a
// server that fails returns its task.
std::optional<size_t> take(TaskQueue& queue, size_t n_tasks, const std::atomic<bool>& stop) {
  std::unique_lock lock(queue.mutex);
  for (;;) {
    if (stop || queue.fatal || queue.remaining == 0 || queue.live_endpoints == 0) return std::nullopt;
    if (!queue.returned.empty()) {
      const size_t index = queue.returned.front();
      queue.returned.pop_front();
      return index;
    }
    if (queue.next < n_tasks) return queue.next++;
    queue.changed.wait_for(lock, std::chrono::milliseconds(100));
  }
}

}  // namespace

void run_endpoints(const std::vector<const OpenAIClient*>& clients, const std::vector<EvalTask>& tasks,
                   const EvalRunOptions& options, const TaskDone& done, const std::atomic<bool>& stop) {
  if (clients.empty()) fail("eval: no endpoint");
  std::vector<EndpointState> endpoints(clients.size());
  TaskQueue queue;
  queue.remaining = tasks.size();
  queue.live_endpoints = int(clients.size());
  for (auto& e : endpoints) e.budget_fields = options.budget_fields;

  auto worker = [&](size_t e) {
    EndpointState& endpoint = endpoints[e];
    for (;;) {
      {
        std::lock_guard lock(queue.mutex);
        if (endpoint.failed) return;
      }
      const auto index = take(queue, tasks.size(), stop);
      if (!index) return;
      TaskOutcome outcome;
      try {
        outcome = run_task(*clients[e], tasks[*index], options, endpoint);
      } catch (...) {
        // This server is out (the client has retried): its task goes back for the others.
        std::lock_guard lock(queue.mutex);
        queue.returned.push_back(*index);
        if (!endpoint.failed) {
          endpoint.failed = true;
          endpoint.error = std::current_exception();
          --queue.live_endpoints;
          if (queue.live_endpoints > 0) {
            try {
              std::rethrow_exception(endpoint.error);
            } catch (const std::exception& error) {
              log_warn("{}: {}; its problems go to the other endpoints", clients[e]->url(), error.what());
            }
          }
        }
        queue.changed.notify_all();
        return;
      }
      std::lock_guard lock(queue.mutex);
      try {
        done(tasks[*index], outcome);
        --queue.remaining;
      } catch (...) {
        if (!queue.fatal) queue.fatal = std::current_exception();
      }
      queue.changed.notify_all();
    }
  };
  std::vector<std::thread> workers;
  const int per_endpoint = std::max(1, std::min<int>(options.parallel, int(tasks.size())));
  for (size_t e = 0; e < clients.size(); ++e)
    for (int i = 0; i < per_endpoint; ++i) workers.emplace_back(worker, e);
  for (auto& w : workers) w.join();
  if (queue.fatal) std::rethrow_exception(queue.fatal);
  if (queue.live_endpoints > 0) return;
  // Every server failed: with one, its own error; with several, each one's.
  if (clients.size() == 1) std::rethrow_exception(endpoints[0].error);
  std::string errors;
  for (size_t e = 0; e < clients.size(); ++e) {
    try {
      std::rethrow_exception(endpoints[e].error);
    } catch (const std::exception& error) {
      errors += fmt::format("{}{}", errors.empty() ? "" : "; ", error.what());
    }
  }
  fail("every endpoint failed: {}", errors);
}

}  // namespace s1
