// The local backend: many problems in flight on one Generator, which batches
// every running sequence into each decode step.
#include <algorithm>

#include "api/engine.h"
#include "eval/runner.h"
#include "model/kv_cache.h"
#include "util/error.h"

namespace s1 {
namespace {

struct Flight {
  size_t task;
  int id = 0;
  int attempt = 0;
  double started_at = 0;
  int reserved_tokens = 0, sequences = 0;
};

GenerationRequest make_request(Engine& engine, const EvalTask& task, const EvalRunOptions& options,
                               int attempt) {
  const EvalSetting& setting = *task.setting;
  GenerationRequest request =
      engine.chat_request(task_messages(task));
  request.sampling = options.sampling;
  request.sampling.seed = task_seed(options, task, attempt);
  if (setting.method == ControlMethod::budget) {
    request.budget.think_max = setting.think_max;
    request.budget.think_min = setting.think_min.value_or(0);
    request.budget.wait = setting.wait.value_or(0);
    request.budget.wait_text = options.wait_text;
    request.budget.probe = setting.think_stop;
  } else if (setting.method == ControlMethod::rejection) {
    request.budget.reject_over = setting.think_max;  // abandon a try once it passes the budget
  }
  request.budget.answer_max = options.answer_max;
  request.n = setting.n;
  request.vote = setting.vote.value_or(VoteMethod::majority);
  request.vote_confidence = options.vote_confidence;
  const int room = engine.context().max_sequence_length() - int(request.prompt.size());
  if (room < 1)
    fail("problem {}: its prompt has {} tokens and leaves no room to answer in a context of {}; raise --ctx",
         task.problem->id, request.prompt.size(), engine.context().max_sequence_length());
  request.max_tokens = std::min(task_max_tokens(options, setting), room);
  if (!options.grammar.empty()) request.grammar = std::make_shared<const Grammar>(Grammar::parse(options.grammar));
  return request;
}

// The most cache positions a request can hold: its prompt once, then each
// sample's own tokens (a sequence never outgrows max_sequence_length). Slack
// covers the delimiters the controller appends and, for forks, the copy of
// the prompt's partly filled last block.
int cache_positions_needed(const GenerationRequest& request, const EvalSetting& setting, int max_sequence_length) {
  constexpr int kAppendedSlack = 32, kBlock = KvCache::kBlockTokens;
  auto whole_blocks = [](int tokens) { return (tokens + kBlock - 1) / kBlock * kBlock; };
  const int prompt = int(request.prompt.size());
  const int probes = request.n * probe_cache_positions(setting);
  if (request.n == 1)
    return whole_blocks(std::min(prompt + request.max_tokens + kAppendedSlack, max_sequence_length)) + probes;
  const int own = std::min(request.max_tokens + kAppendedSlack, max_sequence_length - prompt) + kBlock;
  return whole_blocks(prompt) + request.n * whole_blocks(own) + probes;
}

TaskOutcome outcome_of(const GenerationResult& result, const Flight& flight) {
  TaskOutcome outcome;
  for (const auto& s : result.samples)
    outcome.samples.push_back({s.thinking, s.answer, s.finish_reason, s.thinking_tokens, s.answer_tokens,
                               s.waits, s.forced_end, false, s.mean_logprob, s.probes, s.probe_tokens});
  outcome.prompt_tokens = result.prompt_tokens;
  outcome.tries = flight.attempt + 1;
  outcome.started_at = flight.started_at;
  outcome.finished_at = unix_seconds();
  return outcome;
}

}  // namespace

void run_local(Engine& engine, const std::vector<EvalTask>& tasks, const EvalRunOptions& options,
               const TaskDone& done, const std::atomic<bool>& stop) {
  Generator& generator = engine.generator();
  // Admission by worst case: every sample of a request may grow to its token
  // limit, and the cache must never run out in the middle of a step.
  const int capacity = engine.context().kv_cache().capacity_tokens();
  const int max_sequences = engine.context().params().max_sequences;
  std::vector<Flight> flights;
  int reserved = 0, sequences = 0;
  size_t next = 0;

  while (true) {
    while (!stop && next < tasks.size() && int(flights.size()) < options.parallel) {
      const EvalTask& task = tasks[next];
      GenerationRequest request = make_request(engine, task, options, 0);
      // A sample's probes take sequences of their own while they run.
      const int n = request.n;
      const int n_sequences = n * (task.setting->think_stop ? 1 + Generator::kProbesInFlight : 1);
      const int need = cache_positions_needed(request, *task.setting, engine.context().max_sequence_length());
      if (need > capacity || n_sequences > max_sequences)
        fail(
            "problem {} ({}): {} samples of up to {} tokens need {} cache positions but --ctx holds {}; "
            "raise --ctx or lower --max-tokens",
            task.problem->id, task.setting->label(), n, request.max_tokens, need, capacity);
      if (reserved + need > capacity || sequences + n_sequences > max_sequences) break;  // wait for room
      Flight flight{next, generator.submit(std::move(request)), 0, unix_seconds(), need, n_sequences};
      reserved += need;
      sequences += flight.sequences;
      flights.push_back(flight);
      ++next;
    }
    if (stop) {
      for (const auto& flight : flights) generator.cancel(flight.id);
      while (generator.step()) {
      }
      for (const auto& flight : flights) generator.take_result(flight.id);
      return;
    }
    if (flights.empty()) return;
    const bool stepped = generator.step();
    bool finished_any = false;
    for (size_t i = 0; i < flights.size();) {
      Flight& flight = flights[i];
      if (!generator.finished(flight.id)) {
        ++i;
        continue;
      }
      finished_any = true;
      GenerationResult result = generator.take_result(flight.id);
      const EvalTask& task = tasks[flight.task];
      const bool retry = task.setting->method == ControlMethod::rejection &&
                         result.samples.at(0).finish_reason == "rejected" &&
                         flight.attempt + 1 < options.tries;
      if (retry) {
        ++flight.attempt;
        flight.id = generator.submit(make_request(engine, task, options, flight.attempt));
        ++i;
        continue;
      }
      done(task, outcome_of(result, flight));
      reserved -= flight.reserved_tokens;
      sequences -= flight.sequences;
      flights.erase(flights.begin() + std::ptrdiff_t(i));
    }
    if (!stepped && !finished_any) fail("the generator stopped with {} problems unfinished", flights.size());
  }
}

}  // namespace s1
