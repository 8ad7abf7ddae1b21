#include "reasoning/generator.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "model/context.h"
#include "model/kv_cache.h"
#include "model/prompt_cache.h"
#include "grading/answer.h"
#include "sampling/grammar_matcher.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"
#include "util/error.h"

namespace s1 {

using Clock = std::chrono::steady_clock;

static double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Probe stop: a fork of a thinking sample's sequence that is made to answer at
// once (the forced end of thinking, then a short greedy answer). It decodes in
// the same batches as everything else and is freed once its answer is known.
struct Generator::Probe {
  int index = 0;  // the controller's probe number
  int seq = -1;
  std::vector<int32_t> pending;
  std::string answer;  // the answer prefix, then the text of the tokens drawn
  int drawn = 0;
  bool done = false;
};

struct Generator::Sample {
  int index = 0;
  int seq = -1;
  Sampler sampler;
  BudgetController controller;
  std::optional<GrammarMatcher> grammar;  // the answer's, when the request has one
  std::vector<TokenChoiceLogprobs> answer_logprobs;
  std::optional<ToolCallSplitter> calls;  // watches the sampled text for tool calls (search or the client's)
  std::vector<SearchResult> sources;
  int searches = 0, search_tokens = 0;
  std::vector<std::unique_ptr<Probe>> probes;  // in flight, or done and not yet freed
  int probe_tokens = 0;
  std::string error;  // why the sample ended with finish reason "error"
  std::vector<int32_t> pending;  // tokens to feed at the next step
  std::vector<int32_t> fed;      // the tokens in seq after the prompt
  int generated = 0;             // sampled tokens kept (thinking + answer)
  double logprob_sum = 0;
  int logprob_count = 0;
  bool done = false;
  bool voted = true;  // false: stopped because an adaptive vote had settled without it
  std::string finish_reason;
  Clock::time_point phase_start = Clock::now();
  double thinking_seconds = 0;
  std::optional<std::string> extracted;  // the final answer, once the sample is finished

  double mean_logprob() const { return logprob_count ? logprob_sum / logprob_count : 0.0; }
  Sample(int i, SamplingParams params, BudgetController c) : index(i), sampler(std::move(params)), controller(std::move(c)) {}
};

struct Generator::Request {
  int id = 0;
  GenerationRequest params;
  std::vector<int32_t> prompt;  // the request's prompt plus the controller's opening tokens
  int root_seq = -1;
  // An adaptive vote starts samples as earlier ones finish: from this copy of
  // the prompt's state and its last logits (sample 0's sequence grows).
  int prompt_seq = -1;
  std::vector<float> prompt_logits;
  size_t prefilled = 0;          // prompt positions computed or in the batch being computed
  size_t cached = 0;             // prompt positions forked from another request's sequence
  bool prefill_started = false;  // its first prompt chunk has been scheduled
  std::vector<std::unique_ptr<Sample>> samples;
  bool done = false;
  int64_t appended = 0;
  int64_t prefill_computed = 0;
  int64_t probe_computed = 0;  // positions the freed probes computed
  VoteResult vote;  // once every sample is finished
  Clock::time_point submitted = Clock::now();
  double prefill_seconds = 0, total_seconds = 0;
  double sampling_seconds = 0;
};

Generator::Generator(Context& ctx, const Tokenizer& tokenizer, ThinkingFormat format, int max_batch_tokens)
    : ctx_(ctx), tokenizer_(tokenizer), format_(std::move(format)), max_batch_tokens_(std::max(1, max_batch_tokens)) {}

ThinkingFormat Generator::format_for(const GenerationRequest& params) const {
  return params.thinking_format.value_or(format_);
}

Generator::~Generator() {
  for (auto& [id, request] : requests_) {
    for (auto& sample : request->samples) {
      if (sample->seq >= 0 && sample->seq != request->root_seq) ctx_.remove(sample->seq);
      for (auto& probe : sample->probes) ctx_.remove(probe->seq);
    }
    if (request->root_seq >= 0) ctx_.remove(request->root_seq);
    if (request->prompt_seq >= 0) ctx_.remove(request->prompt_seq);
  }
}

void Generator::keep_prompts(const PromptCacheLimits& limits) {
  prompt_cache_ = std::make_unique<PromptCache>(ctx_, limits);
}

int Generator::submit(GenerationRequest params) {
  if (params.n < 1) fail("n must be at least 1, got {}", params.n);
  if (params.logprobs > 20) fail("logprobs: at most 20 alternatives per token, got {}", params.logprobs);
  if (params.max_tokens < 1) fail("max_tokens must be at least 1, got {}", params.max_tokens);
  if (!(params.vote_confidence > 0 && params.vote_confidence <= 1))
    fail("the vote confidence must be in (0, 1], got {}", params.vote_confidence);
  if (params.prompt.empty()) fail("the prompt is empty");
  validate(params.sampling);
  validate(params.budget, format_for(params), tokenizer_);
  if (params.grammar) {
    if (!grammar_vocabulary_) {
      // The thinking format's control tokens (gpt-oss's <|channel|>, ...)
      // may be written by a grammar: a call in place of the final message.
      std::vector<std::string> markup;
      for (int32_t id : tokenizer_.encode(format_.open + format_.close, {.add_bos = false, .parse_special = true}))
        if (tokenizer_.type(id) == TokenType::control) markup.emplace_back(tokenizer_.piece(id, true));
      grammar_vocabulary_ = std::make_shared<const GrammarVocabulary>(tokenizer_, markup);
    }
    // The grammar sees the answer only: a model that may think opens its
    // thinking block in the prompt, so the answer's first token is known to
    // be the answer's.
    if (params.prompt_thinking == PromptThinking::not_opened) params.budget.open_thinking = true;
  }

  auto request = std::make_unique<Request>();
  request->id = next_id_++;
  // The controller of sample 0 decides whether to open the thinking block;
  // every sample starts from the same prompt, so one decision serves all.
  BudgetController probe(tokenizer_, format_for(params), params.budget);
  request->prompt = params.prompt;
  std::vector<int32_t> opening = probe.start(params.prompt_thinking);
  request->prompt.insert(request->prompt.end(), opening.begin(), opening.end());
  request->appended = int64_t(opening.size());

  const int limit = ctx_.max_sequence_length();
  if (int(request->prompt.size()) >= limit)
    fail("the prompt has {} tokens but the context holds {}; shorten it or raise --ctx", request->prompt.size(),
         limit);
  request->root_seq = ctx_.new_sequence();
  request->params = std::move(params);
  const int id = request->id;
  requests_[id] = std::move(request);
  return id;
}

// Requests in flight often share a prefix (the chat template, a system
// prompt, the same question asked again). Before a request computes its first
// prompt token it forks the request that has computed most of its prompt and
// prefills only the rest: the fork shares the cached positions (copy on write),
// so nothing is copied or computed twice. At least the last prompt token is
// always computed, for the logits of the first sample.
size_t Generator::shared_prefix(const Request& request, const Request& other, size_t other_computed) {
  const size_t limit = std::min({other_computed, request.prompt.size() - 1, other.prompt.size()});
  size_t n = 0;
  while (n < limit && other.prompt[n] == request.prompt[n]) ++n;
  return n;
}

void Generator::share_computed_prefix(Request& request) {
  int donor = -1;
  size_t shared = 0;
  for (const auto& [id, other] : requests_) {
    if (other.get() == &request || other->root_seq < 0) continue;
    const size_t n = shared_prefix(request, *other, size_t(ctx_.length(other->root_seq)));
    // A recurrent model's state is its last position's: only a donor's whole
    // sequence can be shared.
    if (n > shared && ctx_.can_truncate(other->root_seq, int(n))) donor = other->root_seq, shared = n;
  }
  if (prompt_cache_) {
    const PromptCache::Match kept = prompt_cache_->find(request.prompt, request.prompt.size() - 1);
    if (kept.length > shared) donor = kept.seq, shared = kept.length;
  }
  if (donor < 0) return;
  ctx_.remove(request.root_seq);  // its own, still empty
  request.root_seq = ctx_.fork(donor);
  ctx_.truncate(request.root_seq, int(shared));
  request.prefilled = request.cached = shared;
}

// Kept prompts give their blocks back when the batch's sequences need them.
void Generator::make_room(const Batch& batch) {
  // A token takes at most one new block, a sequence at most one more (the
  // copy of a shared last block): with that much free, nothing to count.
  if (!prompt_cache_ || size_t(ctx_.kv_cache().free_blocks()) >= 2 * batch.size()) return;
  std::map<int, int> appended;
  for (const Batch::Token& t : batch.tokens) ++appended[t.seq];
  int blocks = 0;
  for (const auto& [seq, n] : appended) blocks += ctx_.kv_cache().blocks_needed(seq, n);
  prompt_cache_->release_blocks(blocks);
}

// Prompts that arrive together (a burst of chats with one template) would all
// compute their common prefix in the same step: a request waits one step when
// one being prefilled now covers at least kMinSharedWait more of its prompt,
// then forks it. Not with recurrent layers: by then the other sequence is
// past the shared part, which it cannot give back (Context::can_truncate).
bool Generator::waits_for_shared_prefix(const Request& request, const std::vector<const Request*>& prefilling) {
  constexpr size_t kMinSharedWait = 16;
  if (ctx_.recurrent_bytes_per_sequence() > 0) return false;
  for (const Request* other : prefilling)
    if (shared_prefix(request, *other, other->prefilled) >= request.prefilled + kMinSharedWait) return true;
  return false;
}

bool Generator::idle() const {
  for (const auto& [id, request] : requests_)
    if (!request->done) return false;
  return true;
}

bool Generator::finished(int id) const {
  auto it = requests_.find(id);
  return it != requests_.end() && it->second->done;
}

void Generator::emit(Request& request, int sample, std::vector<Event>& events) {
  if (request.params.on_event)
    for (auto& event : events) {
      event.sample = sample;
      request.params.on_event(event);
    }
  events.clear();
}

bool Generator::step() {
  Batch batch;
  struct Row {
    Request* request;
    Sample* sample;          // null: the request's prompt just finished prefilling
    Probe* probe = nullptr;  // one of the sample's probes
  };
  std::vector<Row> rows;
  int budget = max_batch_tokens_;

  // Probes first: their answers are handled before their samples' next
  // tokens, so agreeing probes end the thinking in the step they finish.
  for (auto& [id, request] : requests_)
    for (auto& sample : request->samples)
      for (auto& probe : sample->probes) {
        if (probe->done || probe->pending.empty()) continue;
        int pos = ctx_.length(probe->seq);
        for (size_t i = 0; i < probe->pending.size(); ++i)
          batch.add(probe->pending[i], pos++, probe->seq, i + 1 == probe->pending.size());
        budget -= int(probe->pending.size());
        probe->pending.clear();
        rows.push_back({request.get(), sample.get(), probe.get()});
      }

  // Running samples first: decode latency matters more than a new prompt.
  for (auto& [id, request] : requests_) {
    for (auto& sample : request->samples) {
      if (sample->done || sample->pending.empty()) continue;
      int pos = ctx_.length(sample->seq);
      for (size_t i = 0; i < sample->pending.size(); ++i)
        batch.add(sample->pending[i], pos++, sample->seq, i + 1 == sample->pending.size());
      sample->fed.insert(sample->fed.end(), sample->pending.begin(), sample->pending.end());
      budget -= int(sample->pending.size());
      sample->pending.clear();
      rows.push_back({request.get(), sample.get()});
    }
  }
  // Then prompt chunks, as room allows (at least one chunk per step so a
  // long prompt always progresses).
  std::vector<const Request*> prefilling;
  for (auto& [id, request] : requests_) {
    if (request->done || request->prefilled == request->prompt.size()) continue;
    if (budget <= 0 && !batch.tokens.empty()) break;
    if (!request->prefill_started) {
      share_computed_prefix(*request);
      if (waits_for_shared_prefix(*request, prefilling)) continue;
      request->prefill_started = true;
    }
    const size_t n = std::min(request->prompt.size() - request->prefilled, size_t(std::max(budget, 16)));
    int pos = ctx_.length(request->root_seq);
    for (size_t i = 0; i < n; ++i) {
      const bool last = request->prefilled + i + 1 == request->prompt.size();
      batch.add(request->prompt[request->prefilled + i], pos++, request->root_seq, last);
    }
    request->prefilled += n;
    budget -= int(n);
    prefilling.push_back(request.get());
    if (request->prefilled == request->prompt.size()) rows.push_back({request.get(), nullptr});
  }
  if (batch.tokens.empty()) return false;

  make_room(batch);
  std::span<const float> logits = ctx_.decode(batch);
  const int n_vocab = ctx_.n_vocab();
  for (size_t r = 0; r < rows.size(); ++r) {
    const float* row = logits.data() + r * size_t(n_vocab);
    if (rows[r].probe) {
      advance_probe(*rows[r].request, *rows[r].sample, *rows[r].probe, row);
    } else if (!rows[r].sample) {
      start_samples(*rows[r].request, row);
    } else {
      advance(*rows[r].request, *rows[r].sample, row);
    }
  }
  for (auto& [id, request] : requests_) {
    for (auto& sample : request->samples) drop_finished_probes(*request, *sample);
    settle_adaptive_vote(*request);
    if (!request->done && !request->samples.empty() &&
        std::all_of(request->samples.begin(), request->samples.end(), [](auto& s) { return s->done; }))
      finish_request(*request);
  }
  return true;
}

void Generator::start_samples(Request& request, const float* logits) {
  request.prefill_seconds = seconds_since(request.submitted);
  request.prefill_computed = ctx_.computed(request.root_seq);
  const auto& params = request.params;
  int first_wave = params.n;
  if (params.vote == VoteMethod::adaptive && params.n > kAdaptiveInFlight) {
    first_wave = kAdaptiveInFlight;
    request.prompt_seq = ctx_.fork(request.root_seq);
    request.prompt_logits.assign(logits, logits + ctx_.n_vocab());
  } else if (prompt_cache_ && ctx_.recurrent_bytes_per_sequence() > 0) {
    // The prompt's recurrent state, kept for later requests: sample 0's
    // sequence moves past it and cannot give it back.
    request.prompt_seq = ctx_.fork(request.root_seq);
  }
  // Sample 0 keeps the root sequence; the forks are taken before it grows.
  for (int i = 0; i < first_wave; ++i) add_sample(request, i == 0 ? request.root_seq : ctx_.fork(request.root_seq));
  for (size_t i = 0; i < request.samples.size(); ++i) begin_sample(request, *request.samples[i], logits);
}

void Generator::add_sample(Request& request, int seq) {
  const auto& params = request.params;
  const int i = int(request.samples.size());
  SamplingParams sampling = params.sampling;
  if (sampling.seed) sampling.seed = *sampling.seed + uint64_t(i);
  auto sample = std::make_unique<Sample>(i, sampling, BudgetController(tokenizer_, format_for(params), params.budget));
  sample->controller.start(params.prompt_thinking);
  sample->seq = seq;
  if (params.grammar) sample->grammar.emplace(params.grammar, grammar_vocabulary_);
  if (params.search)
    sample->calls.emplace(params.search->format, nlohmann::json::array({search_tool_definition()}));
  else if (params.client_tools)
    sample->calls.emplace(*params.client_tools);
  for (int32_t t : request.prompt) sample->sampler.accept(t);
  request.samples.push_back(std::move(sample));
}

void Generator::begin_sample(Request& request, Sample& sample, const float* logits) {
  if (sample.controller.phase() == Phase::thinking) {
    std::vector<Event> events{{EventKind::thinking_started, 0, "", 0}};
    emit(request, sample.index, events);
  }
  advance(request, sample, logits);
}

// After a step: a settled vote stops the samples still running (they do not
// vote; their tokens were spent and count); an open one starts samples, up
// to kAdaptiveInFlight at a time and n in all.
void Generator::settle_adaptive_vote(Request& request) {
  const auto& params = request.params;
  if (params.vote != VoteMethod::adaptive || request.samples.empty() || request.done) return;
  std::vector<VoteCandidate> finished;
  int running = 0;
  for (const auto& sample : request.samples) {
    if (!sample->done) ++running;
    else if (sample->voted) finished.push_back({sample->extracted, sample->mean_logprob()});
  }
  const int remaining = params.n - int(finished.size());
  if (vote_settled(finished, remaining, params.vote_confidence)) {
    for (auto& sample : request.samples)
      if (!sample->done) {
        sample->voted = false;
        finish_sample(request, *sample, "cancelled");
      }
    return;
  }
  while (running < kAdaptiveInFlight && int(request.samples.size()) < params.n) {
    add_sample(request, ctx_.fork(request.prompt_seq));
    begin_sample(request, *request.samples.back(), request.prompt_logits.data());
    running += !request.samples.back()->done;
  }
}

void Generator::apply(Request& request, Sample& sample, const Action& action) {
  if (action.rollback > 0) {
    ctx_.truncate(sample.seq, ctx_.length(sample.seq) - action.rollback);
    sample.fed.resize(sample.fed.size() - std::min(sample.fed.size(), size_t(action.rollback)));
  }
  sample.pending = action.append;
  for (int32_t t : action.append) sample.sampler.accept(t);
}

void Generator::advance(Request& request, Sample& sample, const float* logits) {
  if (sample.done) return;
  std::vector<Event> events;
  const Phase before = sample.controller.phase();

  if (auto forced = sample.controller.before_sample(events)) {
    request.appended += int64_t(forced->append.size());
    apply(request, sample, *forced);
    if (forced->finished) sample.finish_reason = forced->rejected ? "rejected" : "stop";
  } else {
    if (sample.controller.phase() == Phase::thinking) start_probe(request, sample);
    const auto banned = sample.controller.banned_tokens();
    GrammarMatcher* grammar = sample.grammar && before == Phase::answering ? &*sample.grammar : nullptr;
    const auto sampling_start = Clock::now();
    TokenChoice choice;
    try {
      choice = sample.sampler.sample_choice(logits, ctx_.n_vocab(), {banned.data(), banned.size()}, grammar);
      if (grammar) grammar->accept(choice.token);
    } catch (const Error& e) {
      // A grammar no token of the vocabulary can continue ends this sample
      // (finish reason "error"), not the other requests in the batch.
      if (!grammar) throw;
      sample.error = e.what();
      finish_sample(request, sample, "error");
      return;
    }
    request.sampling_seconds += seconds_since(sampling_start);
    sample.logprob_sum += choice.raw_logprob;
    ++sample.logprob_count;
    ++sample.generated;
    // gpt-oss closes a call with <|call|>, which ends a turn: while thinking
    // it is the call's last text, not an attempt to stop thinking.
    const bool closes_call = before == Phase::thinking && sample.calls && sample.calls->in_call() &&
                             tokenizer_.is_end_of_generation(choice.token);
    const Action action = closes_call ? sample.controller.keep_thinking_token(choice.token, events)
                                      : sample.controller.on_token(choice.token, events);
    // An answer token: sampled while answering, or the one that showed the
    // model answers without thinking.
    const bool answer_token = before == Phase::answering ||
                              (before == Phase::undecided && sample.controller.phase() == Phase::answering);
    if (request.params.logprobs >= 0 && answer_token && !tokenizer_.is_end_of_generation(choice.token))
      record_logprobs(request, sample, logits, choice, events);
    const bool replaced = action.rollback > 0 || action.append.size() != 1 || action.append[0] != choice.token;
    if (replaced) request.appended += int64_t(action.append.size());
    apply(request, sample, action);
    const bool client_call = !replaced && !action.finished && watch_for_calls(request, sample, choice.token, events);
    if (client_call && before == Phase::thinking) sample.finish_reason = "tool_calls";
    if (action.finished || (grammar && grammar->finished())) sample.finish_reason = "stop";
  }

  if (sample.controller.phase() != before && before == Phase::thinking) {
    sample.thinking_seconds = seconds_since(sample.phase_start);
    sample.phase_start = Clock::now();
  }
  emit(request, sample.index, events);

  if (sample.controller.phase() == Phase::done || !sample.finish_reason.empty()) {
    finish_sample(request, sample, sample.finish_reason.empty() ? "stop" : sample.finish_reason);
  } else if (sample.generated >= request.params.max_tokens ||
             ctx_.length(sample.seq) + int(sample.pending.size()) >= ctx_.max_sequence_length()) {
    finish_sample(request, sample, "length");
  }
}

// The fork shares every cached position of the sample (nothing is computed
// again) and takes the forced end of thinking as its first tokens.
void Generator::start_probe(Request& request, Sample& sample) {
  const ProbeStop* stop = request.params.budget.probe ? &*request.params.budget.probe : nullptr;
  if (!stop) return;
  const int running = int(std::count_if(sample.probes.begin(), sample.probes.end(), [](auto& p) { return !p->done; }));
  const auto& close = sample.controller.close_tokens();
  // A probe due while kProbesInFlight run, or with no sequence id or context
  // room left for it, waits (the controller keeps it due).
  if (running >= kProbesInFlight || ctx_.kv_cache().live_sequences() >= ctx_.params().max_sequences ||
      ctx_.length(sample.seq) + int(close.size()) + stop->answer_max >= ctx_.max_sequence_length())
    return;
  const std::optional<int> index = sample.controller.take_due_probe();
  if (!index) return;
  auto probe = std::make_unique<Probe>();
  probe->index = *index;
  probe->seq = ctx_.fork(sample.seq);
  probe->pending = close;
  probe->answer = sample.controller.format().answer_prefix;
  sample.probe_tokens += int(close.size());
  sample.probes.push_back(std::move(probe));
}

// Greedy, without the thinking delimiters (as an answer), until the end of
// the turn or the probe's answer cap; then the extracted answer goes to the
// sample's controller.
void Generator::advance_probe(Request& request, Sample& sample, Probe& probe, const float* logits) {
  if (probe.done || sample.done) return;
  const auto banned = sample.controller.delimiter_tokens();
  const int n_vocab = std::min(ctx_.n_vocab(), tokenizer_.n_vocab());
  int32_t best = -1;
  for (int32_t t = 0; t < n_vocab; ++t)
    if ((best < 0 || logits[t] > logits[best]) && std::find(banned.begin(), banned.end(), t) == banned.end()) best = t;
  const bool end_of_turn = tokenizer_.is_end_of_generation(best);
  if (!end_of_turn) {
    probe.answer += tokenizer_.piece(best, /*with_control=*/sample.controller.format().answer_keeps_markup);
    ++probe.drawn;
    ++sample.probe_tokens;
    if (probe.drawn < request.params.budget.probe->answer_max &&
        ctx_.length(probe.seq) + 1 < ctx_.max_sequence_length()) {
      probe.pending = {best};
      return;
    }
  }
  probe.done = true;
  std::optional<std::string> extracted = extract_answer(utf8_sanitize(probe.answer));
  std::vector<Event> events;
  sample.controller.on_probe_answer(probe.index, std::move(extracted), events);
  emit(request, sample.index, events);
}

// Probes that are done, or whose sample no longer thinks, give their
// sequences back. Called where no batch row still points at them.
void Generator::drop_finished_probes(Request& request, Sample& sample) {
  const bool thinking = !sample.done && sample.controller.phase() == Phase::thinking;
  std::erase_if(sample.probes, [&](const std::unique_ptr<Probe>& probe) {
    if (thinking && !probe->done) return false;
    request.probe_computed += ctx_.computed(probe->seq);
    ctx_.remove(probe->seq);
    return true;
  });
}

bool Generator::watch_for_calls(Request& request, Sample& sample, int32_t token, std::vector<Event>& events) {
  if (!sample.calls) return false;
  bool client_call = false;
  for (const ToolCall& call : sample.calls->feed(tokenizer_.piece(token, /*with_control=*/true)).calls) {
    if (!request.params.search || call.name != "search") {
      client_call = client_call || request.params.client_tools.has_value();
      continue;
    }
    const auto arguments = nlohmann::json::parse(call.arguments, nullptr, false);
    const auto query = arguments.is_object() ? arguments.find("query") : arguments.end();
    run_search(request, sample, query != arguments.end() && query->is_string() ? query->get<std::string>() : "",
               events);
  }
  return client_call;
}

// The hits go into the sequence as the tool's response, in the model's own
// syntax, through the cache like the controller's appended tokens: nothing
// is recomputed. They are not thinking tokens (the budget does not count them).
void Generator::run_search(Request& request, Sample& sample, const std::string& query, std::vector<Event>& events) {
  const SearchTool& tool = *request.params.search;
  std::vector<SearchResult> results;
  nlohmann::json shown = nlohmann::json::array();
  if (sample.searches >= tool.max_searches) {
    shown = {{"error", fmt::format("the search limit of {} per answer is reached", tool.max_searches)}};
  } else if (query.empty()) {
    shown = {{"error", "a search needs a non-empty \"query\""}};
  } else {
    results = tool.run(query);
    for (const SearchResult& r : results) shown.push_back({{"title", r.title}, {"source", r.path}, {"text", r.text}});
  }
  ++sample.searches;
  // Only the response markup may become special tokens: a document that
  // holds "<|im_end|>" must not end the model's turn.
  const std::string head = "\n" + tool.format.response_open + "\n";
  const std::string hits = shown.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  const std::string text = head + hits + "\n" + tool.format.response_close + "\n";
  const TextSpan plain{head.size(), head.size() + hits.size()};
  std::vector<int32_t> tokens = tokenizer_.encode(text, {.parse_special = true, .plain_spans = {&plain, 1}});
  for (int32_t t : tokens) sample.sampler.accept(t);
  sample.pending.insert(sample.pending.end(), tokens.begin(), tokens.end());
  sample.search_tokens += int(tokens.size());
  request.appended += int64_t(tokens.size());
  sample.sources.insert(sample.sources.end(), results.begin(), results.end());
  events.emplace_back(EventKind::searched, 0, query, int(results.size())).results = std::move(results);
}

void Generator::search_now(int id, const std::string& query) {
  auto it = requests_.find(id);
  if (it == requests_.end() || !it->second->params.search) return;
  Request& request = *it->second;
  for (auto& sample : request.samples) {
    if (sample->done) continue;
    std::vector<Event> events;
    run_search(request, *sample, query, events);
    emit(request, sample->index, events);
  }
}

void Generator::record_logprobs(Request& request, Sample& sample, const float* logits, const TokenChoice& choice,
                                std::vector<Event>& events) {
  auto entry = [&](int32_t token, float logprob) {
    return TokenChoiceLogprobs::Entry{token, std::string(tokenizer_.piece(token)), logprob};
  };
  TokenChoiceLogprobs record{entry(choice.token, choice.raw_logprob), {}};
  for (const TokenLogprob& alt : top_logprobs(logits, std::min(ctx_.n_vocab(), tokenizer_.n_vocab()),
                                              request.params.logprobs))
    record.top.push_back(entry(alt.token, alt.logprob));
  sample.answer_logprobs.push_back(record);
  events.emplace_back(EventKind::answer_logprobs).logprobs.push_back(std::move(record));
}

void Generator::finish_sample(Request& request, Sample& sample, const std::string& reason) {
  if (sample.done) return;
  std::vector<Event> events;
  sample.controller.finish(events);
  sample.done = true;
  sample.pending.clear();
  sample.finish_reason = reason;
  if (sample.controller.thinking_tokens() > 0 && sample.thinking_seconds == 0)
    sample.thinking_seconds = seconds_since(sample.phase_start);
  sample.extracted = extract_answer(sample.controller.answer_text());
  drop_finished_probes(request, sample);
  events.push_back({EventKind::sample_finished, 0, sample.extracted.value_or(""), 0});
  emit(request, sample.index, events);
}

void Generator::finish_request(Request& request) {
  request.done = true;
  request.total_seconds = seconds_since(request.submitted);
  std::vector<VoteCandidate> candidates;
  for (auto& sample : request.samples)
    candidates.push_back({sample->voted ? sample->extracted : std::optional<std::string>(), sample->mean_logprob()});
  request.vote = vote(candidates, request.params.vote);
  if (request.params.n > 1) {
    const VoteResult& v = request.vote;
    std::vector<Event> events{{EventKind::vote, v.winner, v.answer.value_or(""), v.votes}};
    emit(request, v.winner, events);
  }
}

void Generator::cancel(int id) {
  auto it = requests_.find(id);
  if (it == requests_.end() || it->second->done) return;
  Request& request = *it->second;
  for (auto& sample : request.samples) finish_sample(request, *sample, "cancelled");
  finish_request(request);
}

void Generator::answer_now(int id) {
  auto it = requests_.find(id);
  if (it == requests_.end()) return;
  for (auto& sample : it->second->samples) sample->controller.answer_now();
}

void Generator::think_more(int id, int tokens) {
  auto it = requests_.find(id);
  if (it == requests_.end()) return;
  for (auto& sample : it->second->samples) sample->controller.think_more(tokens);
}

GenerationResult Generator::take_result(int id) {
  auto it = requests_.find(id);
  if (it == requests_.end() || !it->second->done) fail("request {} is not finished", id);
  Request& request = *it->second;
  GenerationResult result;
  result.prompt_tokens = int(request.params.prompt.size());
  result.prefill_tokens = request.prefill_computed;
  result.cached_tokens = int(std::min(request.cached, request.params.prompt.size()));
  result.appended_tokens = request.appended;
  result.prefill_seconds = request.prefill_seconds;
  result.total_seconds = request.total_seconds;
  result.sampling_seconds = request.sampling_seconds;
  for (auto& sample : request.samples) {
    SampleRecord record;
    const auto& c = sample->controller;
    record.thinking = c.thinking_text();
    record.answer = c.answer_text();
    record.extracted = sample->extracted;
    record.thinking_tokens = c.thinking_tokens();
    record.answer_tokens = c.answer_tokens();
    record.waits = c.waits();
    record.forced_end = c.forced_end();
    record.mean_logprob = sample->mean_logprob();
    record.finish_reason = sample->finish_reason;
    record.answer_logprobs = std::move(sample->answer_logprobs);
    record.sources = std::move(sample->sources);
    record.error = sample->error;
    record.searches = sample->searches;
    record.search_tokens = sample->search_tokens;
    record.probes = c.probes();
    record.probe_tokens = sample->probe_tokens;
    record.probe_stopped = c.probe_stopped();
    record.thinking_seconds = sample->thinking_seconds;
    record.answer_seconds = std::max(0.0, request.total_seconds - request.prefill_seconds - sample->thinking_seconds);
    result.computed_tokens += ctx_.computed(sample->seq);
    result.samples.push_back(std::move(record));
  }
  result.computed_tokens += request.probe_computed;
  result.vote = request.vote;
  release_sequences(request);
  requests_.erase(it);
  return result;
}

// With a prompt cache the sequences that hold the prompt (and sample 0's
// tokens after it) stay for later requests; the rest are freed.
void Generator::release_sequences(Request& request) {
  for (auto& sample : request.samples)
    if (sample->seq != request.root_seq) ctx_.remove(sample->seq);
  std::vector<int32_t> tokens = request.prompt;
  if (!request.samples.empty()) tokens.insert(tokens.end(), request.samples[0]->fed.begin(), request.samples[0]->fed.end());
  // The prompt's copy first: a root sequence that extends it replaces it where it can.
  keep_sequence(request.prompt_seq, request.prompt);
  keep_sequence(request.root_seq, std::move(tokens));
}

void Generator::keep_sequence(int seq, std::vector<int32_t> tokens) {
  if (seq < 0) return;
  const size_t length = size_t(ctx_.length(seq));
  if (!prompt_cache_ || length > tokens.size()) {
    ctx_.remove(seq);
    return;
  }
  tokens.resize(length);
  prompt_cache_->insert(std::move(tokens), seq);
}

GenerationResult Generator::run(GenerationRequest request) {
  const int id = submit(std::move(request));
  while (!finished(id) && step()) {
  }
  return take_result(id);
}

}  // namespace s1
