#pragma once
// The one entry point for generation that the CLI, the server and the
// evaluator share: requests of n samples each, with budget forcing, advanced
// together by batched decoding on one Context.
//
//   Generator gen(ctx, tokenizer, format);
//   int id = gen.submit(std::move(request));   // prompt tokens, sampling, budget, n
//   while (gen.step()) {}                      // or interleave with new submits
//   GenerationResult result = gen.take_result(id);
//
// A step builds one batch: the pending tokens of every running sample (a
// sampled token, or tokens the controller appended) plus a chunk of prompt
// for requests still prefilling, then samples every sequence that got logits.
// A request's prompt is processed once; its n samples are forks that share
// the prompt's KV cache, and a request whose prompt starts like one already in
// flight forks that one's cache and computes only the rest. Events (reasoning/events.h) stream through the
// request's callback as they happen.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "model/prompt_cache.h"
#include "reasoning/budget.h"
#include "reasoning/events.h"
#include "reasoning/thinking_format.h"
#include "reasoning/tool_calls.h"
#include "reasoning/vote.h"
#include "sampling/grammar.h"
#include "sampling/sampler.h"

namespace s1 {

class Context;
struct Batch;
class GrammarVocabulary;
class Tokenizer;

// The search tool the model may call while it thinks (or answers): the
// generator runs it itself and appends the hits to the same sequence.
struct SearchTool {
  std::function<std::vector<SearchResult>(const std::string& query)> run;
  ToolCallFormat format;  // how the model writes the call and reads the result
  int max_searches = 8;   // per sample; later calls get a note that the limit is reached
};

struct GenerationRequest {
  std::vector<int32_t> prompt;  // rendered and tokenized (with BOS when the model wants one)
  PromptThinking prompt_thinking = PromptThinking::not_opened;
  SamplingParams sampling;
  BudgetParams budget;
  int n = 1;                 // samples; they share the prompt's cache
  VoteMethod vote = VoteMethod::majority;
  // adaptive: samples run kAdaptiveInFlight at a time and stop once the vote
  // is settled (vote_settled in reasoning/vote.h) at this confidence.
  double vote_confidence = 0.95;
  int max_tokens = 4096;     // per sample, thinking and answer together
  // The answer must be a sentence of this grammar (e.g. JSON of a schema);
  // the thinking before it is free. A sample ends when the grammar can take
  // nothing more.
  std::shared_ptr<const Grammar> grammar;
  // Record each answer token's log-probability and this many alternatives
  // (0-20; -1: none), as answer_logprobs events and in the result.
  int logprobs = -1;
  std::optional<SearchTool> search;
  // The client's tools, offered in the prompt in this syntax. Only the client
  // can run them, so a call the model completes while thinking ends the
  // sample (finish reason "tool_calls"), the thinking before it kept; calls
  // in the answer end it as the model's end of turn does.
  std::optional<ToolCallFormat> client_tools;
  // Replaces the generator's thinking format for this request (gpt-oss: a
  // required call takes the place of the final message).
  std::optional<ThinkingFormat> thinking_format;
  std::function<void(const Event&)> on_event;
};

struct SampleRecord {
  std::string thinking, answer;
  std::optional<std::string> extracted;  // the final answer found in `answer`
  int thinking_tokens = 0, answer_tokens = 0, waits = 0;
  bool forced_end = false;
  double mean_logprob = 0;     // mean log-probability of the sampled tokens (raw model distribution)
  std::string finish_reason;   // "stop", "length", "cancelled", "rejected" or "error" (then `error` says why)
  std::string error;
  std::vector<TokenChoiceLogprobs> answer_logprobs;  // when the request asked for them
  std::vector<SearchResult> sources;  // every hit the search tool appended
  int searches = 0, search_tokens = 0;  // calls made (past the limit they get a note), and the tokens of the responses (not thinking)
  // Probe stop: probes taken, their tokens (each probe's forced delimiter and
  // answer prefix plus the answer tokens it drew; neither thinking nor answer),
  // and whether agreeing probes ended the thinking (then forced_end too).
  int probes = 0, probe_tokens = 0;
  bool probe_stopped = false;
  double thinking_seconds = 0, answer_seconds = 0;
};

struct GenerationResult {
  std::vector<SampleRecord> samples;
  VoteResult vote;               // the aggregated answer (the only sample's when n == 1)
  int prompt_tokens = 0;
  int64_t prefill_tokens = 0;    // prompt positions computed (once, whatever n is; not a prefix shared with another request)
  int cached_tokens = 0;         // prompt positions taken from another request's cache, in flight or kept
  int64_t computed_tokens = 0;   // all positions computed for this request (probes' included)
  int64_t appended_tokens = 0;   // tokens the controller appended (delimiters, wait text)
  double prefill_seconds = 0, total_seconds = 0;
  double sampling_seconds = 0;   // choosing tokens (sampler and grammar), all samples together
};

class Generator {
 public:
  static constexpr int kAdaptiveInFlight = 4;  // an adaptive vote's samples decoded at once
  // Probe stop: a sample's probes decoding at once; one due while that many
  // run starts when one of them is done.
  static constexpr int kProbesInFlight = 2;

  Generator(Context& ctx, const Tokenizer& tokenizer, ThinkingFormat format, int max_batch_tokens = 256);
  ~Generator();

  const ThinkingFormat& format() const { return format_; }
  // Keeps finished requests' sequences (their prompts, and sample 0's tokens
  // after them) for later requests that start the same way, under these
  // limits (model/prompt_cache.h). The context needs max_entries spare
  // sequence ids.
  void keep_prompts(const PromptCacheLimits& limits);
  const PromptCache* prompt_cache() const { return prompt_cache_.get(); }

  // Validates (budgets, prompt length against the context) and queues; s1::Error on bad input.
  int submit(GenerationRequest request);
  // One batched decode over everything in flight; false when there is nothing to do.
  bool step();
  bool idle() const;
  bool finished(int id) const;
  GenerationResult take_result(int id);  // once finished; forgets the request
  void cancel(int id);                   // ends it now; its result keeps what was generated

  // Live control of every sample of a request still thinking.
  void answer_now(int id);
  void think_more(int id, int tokens);
  // Runs the request's search tool and appends the hits to every running sample.
  void search_now(int id, const std::string& query);

  // submit + step until done + take_result.
  GenerationResult run(GenerationRequest request);

 private:
  struct Sample;
  struct Request;
  struct Probe;
  static size_t shared_prefix(const Request& request, const Request& other, size_t other_computed);
  void share_computed_prefix(Request& request);
  void make_room(const Batch& batch);
  void release_sequences(Request& request);
  void keep_sequence(int seq, std::vector<int32_t> tokens);
  bool waits_for_shared_prefix(const Request& request, const std::vector<const Request*>& prefilling);
  void start_samples(Request& request, const float* logits);
  void add_sample(Request& request, int seq);
  void begin_sample(Request& request, Sample& sample, const float* logits);
  void settle_adaptive_vote(Request& request);
  void advance(Request& request, Sample& sample, const float* logits);
  void start_probe(Request& request, Sample& sample);
  void advance_probe(Request& request, Sample& sample, Probe& probe, const float* logits);
  void drop_finished_probes(Request& request, Sample& sample);
  void apply(Request& request, Sample& sample, const Action& action);
  void run_search(Request& request, Sample& sample, const std::string& query, std::vector<Event>& events);
  // Feeds a sampled token's text to the sample's call watcher; runs search
  // calls; true when a call of the client's tools was completed.
  bool watch_for_calls(Request& request, Sample& sample, int32_t token, std::vector<Event>& events);
  ThinkingFormat format_for(const GenerationRequest& params) const;
  void record_logprobs(Request& request, Sample& sample, const float* logits, const TokenChoice& choice,
                       std::vector<Event>& events);
  void finish_sample(Request& request, Sample& sample, const std::string& reason);
  void finish_request(Request& request);
  void emit(Request& request, int sample, std::vector<Event>& events);

  Context& ctx_;
  const Tokenizer& tokenizer_;
  ThinkingFormat format_;
  int max_batch_tokens_;
  int next_id_ = 1;
  std::map<int, std::unique_ptr<Request>> requests_;
  std::shared_ptr<const GrammarVocabulary> grammar_vocabulary_;  // built by the first request with a grammar
  std::unique_ptr<PromptCache> prompt_cache_;
};

}  // namespace s1
