#pragma once
// Running an evaluation: the work items (problem x setting x repeat) not yet
// in the records, run concurrently on a local engine (batched decoding) or
// against an OpenAI-compatible endpoint (a few HTTP workers), each turned into
// a graded record the moment it finishes.
#include <atomic>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "eval/dataset.h"
#include "eval/sweep.h"
#include "sampling/sampler.h"

namespace s1 {

class Engine;
class OpenAIClient;

struct EvalTask {
  const Problem* problem = nullptr;
  int problem_index = 0;
  const EvalSetting* setting = nullptr;
  int sample = 0;  // which repeat of this (problem, setting)
  std::string key;
};

struct EvalRunOptions {
  int parallel = 8;       // problems in flight at once (local) or HTTP workers (endpoint)
  int max_tokens = 4096;  // per sample when no thinking budget bounds it
  int answer_max = 1024;  // answer tokens after the thinking
  int tries = 8;          // rejection method: tries per problem at most
  std::string wait_text = "Wait";
  double vote_confidence = 0.95;  // the adaptive vote's stopping confidence
  SamplingParams sampling;  // the seed (0 when unset) is offset per problem, repeat and try
  std::string grammar;      // GBNF every answer follows (--grammar / --json-schema); "" none
  // Endpoint only.
  std::string model_name = "default";
  bool budget_fields = true;  // send s1's "thinking" object (dropped if the server rejects it)
};

// One sample as either backend reports it.
struct SampleOutcome {
  std::string thinking, answer, finish_reason;
  int thinking_tokens = 0, answer_tokens = 0, waits = 0;
  bool forced_end = false;
  bool tokens_estimated = false;  // endpoint without a reasoning token count
  double mean_logprob = 0;
  int probes = 0, probe_tokens = 0;  // probe stop: probes taken and their tokens
};

struct TaskOutcome {
  std::vector<SampleOutcome> samples;
  int prompt_tokens = 0;
  int tries = 1;
  double started_at = 0, finished_at = 0;  // seconds since the Unix epoch
  std::string engine;                      // the endpoint that answered (empty: the caller's engine)
};

using TaskDone = std::function<void(const EvalTask&, const TaskOutcome&)>;

// The user message for a task (the method's instruction appended).
std::string task_question(const EvalTask& task);
// The conversation a task sends: the problem's earlier turns, then the question.
nlohmann::json task_messages(const EvalTask& task);
// The sampling seed of one try of a task (samples of it add 0..n-1).
uint64_t task_seed(const EvalRunOptions& options, const EvalTask& task, int attempt);
// Tokens one sample may generate: the budget plus room to answer, or max_tokens.
int task_max_tokens(const EvalRunOptions& options, const EvalSetting& setting);
double unix_seconds();

// The graded record: votes over the samples with the setting's method,
// grades the chosen sample against the reference.
nlohmann::json make_record(const std::string& dataset, const EvalTask& task, const TaskOutcome& outcome,
                           const std::string& engine);

// Local: submits up to `parallel` problems at once to the engine's generator
// (as many as the KV cache can hold in the worst case) and steps them together.
// Stops early, dropping what is in flight, once `stop` is set.
void run_local(Engine& engine, const std::vector<EvalTask>& tasks, const EvalRunOptions& options,
               const TaskDone& done, const std::atomic<bool>& stop);

// Endpoints: `parallel` workers per server, one request per sample. A server
// whose request fails past the client's retries is dropped and its task goes
// to the others; when none is left the error is rethrown (with one server,
// its own; else every server's).
void run_endpoints(const std::vector<const OpenAIClient*>& clients, const std::vector<EvalTask>& tasks,
                   const EvalRunOptions& options, const TaskDone& done, const std::atomic<bool>& stop);

}  // namespace s1
