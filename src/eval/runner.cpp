#include "eval/runner.h"

#include <chrono>

#include "reasoning/vote.h"

namespace s1 {

double unix_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string task_question(const EvalTask& task) {
  return apply_control_instruction(task.setting->method, task.problem->question, task.setting->think_max);
}

nlohmann::json task_messages(const EvalTask& task) {
  nlohmann::json messages = task.problem->history;
  messages.push_back({{"role", "user"}, {"content", task_question(task)}});
  return messages;
}

uint64_t task_seed(const EvalRunOptions& options, const EvalTask& task, int attempt) {
  // Room for 1000 samples per try, 1000 tries per problem and 10^6 problems per repeat.
  return options.sampling.seed.value_or(0) + uint64_t(task.problem_index) * 1000000u +
         uint64_t(attempt) * 1000u + uint64_t(task.sample) * 1000000000000u;
}

int task_max_tokens(const EvalRunOptions& options, const EvalSetting& setting) {
  // A forced end appends the closing delimiter and answer prefix: a little slack.
  if (setting.think_max && setting.method == ControlMethod::budget)
    return *setting.think_max + options.answer_max + 32;
  return options.max_tokens;
}

nlohmann::json make_record(const std::string& dataset, const EvalTask& task, const TaskOutcome& outcome,
                           const std::string& engine) {
  const Problem& problem = *task.problem;
  std::vector<VoteCandidate> candidates;
  nlohmann::json samples = nlohmann::json::array();
  std::vector<Verdict> verdicts;
  int thinking = 0, answer = 0, waits = 0, probe_tokens = 0;
  for (const auto& s : outcome.samples) {
    auto extracted = extract_answer(s.answer, problem.style);
    // A sample cancelled (an adaptive vote settled without it) spent tokens but has no vote.
    candidates.push_back({s.finish_reason == "cancelled" ? std::optional<std::string>() : extracted, s.mean_logprob});
    verdicts.push_back(grade(s.answer, problem.reference, problem.style));
    thinking += s.thinking_tokens;
    answer += s.answer_tokens;
    waits += s.waits;
    probe_tokens += s.probe_tokens;
    nlohmann::json sample = {{"thinking_tokens", s.thinking_tokens},
                             {"answer_tokens", s.answer_tokens},
                             {"forced_end", s.forced_end},
                             {"waits", s.waits},
                             {"finish_reason", s.finish_reason},
                             {"prediction", extracted ? nlohmann::json(*extracted) : nlohmann::json()},
                             {"verdict", to_string(verdicts.back())}};
    if (s.tokens_estimated) sample["thinking_tokens_estimated"] = true;
    if (task.setting->think_stop) {
      sample["probes"] = s.probes;
      sample["probe_tokens"] = s.probe_tokens;
    }
    samples.push_back(std::move(sample));
  }
  const VoteResult voted = vote(candidates, task.setting->vote.value_or(VoteMethod::majority));
  const int chosen = voted.winner >= 0 ? voted.winner : 0;
  const Verdict verdict = voted.winner >= 0 ? verdicts[size_t(chosen)] : Verdict::unparsed;
  const SampleOutcome& shown = outcome.samples.at(size_t(chosen));
  return {
      {"dataset", dataset},
      {"problem_id", problem.id},
      {"problem_index", task.problem_index},
      {"setting", task.setting->to_json()},
      {"setting_key", task.setting->key()},
      {"sample", task.sample},
      {"reference", problem.reference},
      {"prediction", voted.answer ? nlohmann::json(*voted.answer) : nlohmann::json()},
      {"verdict", to_string(verdict)},
      {"votes", voted.votes},
      {"thinking_tokens", thinking},
      {"answer_tokens", answer},
      {"probe_tokens", probe_tokens},
      {"generated_tokens", thinking + answer + probe_tokens},
      {"waits", waits},
      {"prompt_tokens", outcome.prompt_tokens},
      {"tries", outcome.tries},
      {"started_at", outcome.started_at},
      {"finished_at", outcome.finished_at},
      {"seconds", outcome.finished_at - outcome.started_at},
      {"engine", engine},
      {"samples", samples},
      {"thinking", shown.thinking},
      {"answer", shown.answer},
  };
}

}  // namespace s1
