#include "server/generation_handler.h"

#include <sys/random.h>

#include <cerrno>

#include <chrono>

#include "model/kv_cache.h"
#include "server/api_error.h"
#include "server/completion_assembler.h"
#include "server/metrics.h"
#include "server/scheduler.h"
#include "server/sse.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

namespace s1::server {

using Clock = std::chrono::steady_clock;

// One request's progress.
struct Exchange {
  std::string id;
  std::shared_ptr<JobStream> job;
  CompletionAssembler assembler;
  Clock::time_point arrived;
  HttpHeaders headers = {};  // X-Request-Id, X-Control-Token
  bool ttft_seen = false, cancel_sent = false;
};

namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(200);

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Hex of `n` bytes from the kernel's CSPRNG. Request ids (96 bits) and control
// tokens (128 bits) must not be guessable: a salt plus a counter let one
// client steer a neighbour's request.
std::string random_hex(size_t n) {
  uint8_t bytes[32];
  size_t got = 0;
  while (got < n) {
    const ssize_t r = getrandom(bytes + got, n - got, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) throw ApiError(500, "internal_error", "no random bytes for a request id");
    got += size_t(r);
  }
  return fmt::format("{:02x}", fmt::join(bytes, bytes + n, ""));
}

void record_first_text(Exchange& x, Metrics& metrics) {
  if (x.ttft_seen || !x.assembler.saw_text()) return;
  x.ttft_seen = true;
  metrics.observe_time_to_first_token(seconds_since(x.arrived));
}

void record_finish(Exchange& x, Metrics& metrics, const GenerationResult& result) {
  const nlohmann::json usage = x.assembler.usage(result);
  metrics.count_tokens({.prompt = usage["prompt_tokens"].get<int64_t>(),
                        .cached = result.cached_tokens,
                        .completion = usage["completion_tokens"].get<int64_t>(),
                        .reasoning = usage["completion_tokens_details"]["reasoning_tokens"].get<int64_t>()});
  metrics.observe_latency(seconds_since(x.arrived));
}

}  // namespace

GenerationHandler::GenerationHandler(Engine& engine, Scheduler& scheduler, Metrics& metrics, GenerationLimits limits)
    : engine_(engine), scheduler_(scheduler), metrics_(metrics), limits_(std::move(limits)) {}

std::optional<ToolCallFormat> GenerationHandler::tool_format(const ApiRequest& api) const {
  if (!api.uses_tools()) return std::nullopt;
  auto format = engine_.tool_call_format();
  if (!format)
    bad_request("tools", "this model's chat template does not teach a tool-call syntax s1 can read (supported: "
                         "Hermes/Qwen <tool_call>, Qwen3.5/Qwen3-Coder XML, Llama 3.1 JSON, DeepSeek R1/V3.1 "
                         "tool-call tokens, gpt-oss commentary)",
                "unsupported_parameter");
  return format;
}

// The template's variables: the request's, and the tools offered (the
// client's, and the server's search).
nlohmann::json GenerationHandler::template_vars(const ApiRequest& api) const {
  nlohmann::json vars = api.template_vars;
  nlohmann::json tools = api.uses_tools() ? api.tools : nlohmann::json::array();
  if (offers_search(api)) tools.push_back(search_tool_definition());
  if (!tools.empty()) vars["tools"] = std::move(tools);
  return vars;
}

std::string GenerationHandler::render_prompt(const ApiRequest& api) const {
  tool_format(api);
  try {
    return engine_.render_chat(api.messages, template_vars(api));
  } catch (const Error& e) {
    bad_request("messages", e.what());
  }
}

bool GenerationHandler::offers_search(const ApiRequest& api) const {
  return limits_.search && api.endpoint == Endpoint::chat;
}

GenerationRequest GenerationHandler::prepare(const ApiRequest& api, int& reserve_tokens) const {
  tool_format(api);  // refuses tools the model cannot call before anything is rendered
  if (offers_search(api))
    for (const auto& tool : api.tools)
      if (tool["function"]["name"] == "search")
        bad_request("tools", "'search' is this server's own tool (--search-db); name yours otherwise");
  const char* prompt_param = api.endpoint == Endpoint::chat ? "messages" : "prompt";
  if (api.budget.probe && !engine_.thinking_format().has_thinking())
    bad_request("thinking.stop", "'thinking.stop': this model has no thinking format to stop early");
  GenerationRequest g;
  try {
    g = api.endpoint == Endpoint::chat ? engine_.chat_request(api.messages, template_vars(api))
                                       : engine_.text_request(api.prompt);
    validate(api.budget, engine_.thinking_format(), engine_.tokenizer());
    validate(api.sampling);
  } catch (const Error& e) {
    bad_request(api.endpoint == Endpoint::chat ? "messages" : "prompt", e.what());
  }
  const int prompt = int(g.prompt.size());
  if (prompt == 0) bad_request(prompt_param, "the prompt is empty");
  if (prompt >= limits_.ctx)
    throw ApiError(400, "context_length_exceeded",
                   fmt::format("the prompt has {} tokens but the context holds {} tokens per request", prompt,
                               limits_.ctx),
                   prompt_param);
  g.sampling = api.sampling;
  g.budget = api.budget;
  g.n = api.n;
  g.vote = api.aggregate.value_or(VoteMethod::majority);
  g.grammar = api.grammar;
  if (offers_search(api))
    g.search = SearchTool{.run = limits_.search, .format = *engine_.tool_call_format(), .max_searches = 8};
  if (api.uses_tools()) g.client_tools = tool_format(api);
  if (api.uses_tools() && api.tool_choice != "auto") {
    // required, or one named function: the answer is the call(s), held to
    // the tools' parameter schemas. A named function is called once.
    const bool parallel = api.parallel_tool_calls && api.tool_choice == "required";
    const ToolCallFormat format = *tool_format(api);
    try {
      g.grammar = std::make_shared<const Grammar>(
          Grammar::parse(tool_call_gbnf(format, api.tools_json, api.tool_choice_name, parallel)));
    } catch (const Error& e) {
      bad_request("tools", e.what(), "unsupported_schema");
    }
    // gpt-oss writes a call as a commentary message in place of the final
    // one: the grammar takes over where the analysis ends.
    if (format.syntax == ToolCallSyntax::harmony) {
      ThinkingFormat thinking = engine_.thinking_format();
      thinking.close = "<|end|><|start|>assistant";
      thinking.answer_keeps_markup = true;
      g.thinking_format = thinking;
    }
  }
  g.logprobs = api.logprobs;

  // Beyond the sampled tokens a sample's sequence holds what the controller
  // appends (delimiters, wait texts) and a partly filled cache block.
  const int wait_tokens = int(engine_.tokenizer().encode(api.budget.wait_text).size());
  // A probe stop's forks hold a forced end and a short answer each, a few at once.
  const int probe_slack =
      api.budget.probe ? Generator::kProbesInFlight * (32 + api.budget.probe->answer_max + 2 * KvCache::kBlockTokens)
                       : 0;
  const int slack = 32 + api.budget.wait * (wait_tokens + 2) + 2 * KvCache::kBlockTokens + probe_slack;
  const int room = limits_.ctx - prompt;
  int max_tokens = std::min(api.max_tokens.value_or(room), room);
  if (!api.max_tokens)
    max_tokens = std::min(max_tokens, (limits_.kv_tokens - prompt - KvCache::kBlockTokens) / api.n - slack);
  if (max_tokens < 1)
    throw ApiError(400, "context_length_exceeded",
                   fmt::format("no room to generate: the prompt has {} tokens of the {} the server holds", prompt,
                               limits_.kv_tokens),
                   prompt_param);
  g.max_tokens = max_tokens;
  reserve_tokens = prompt + KvCache::kBlockTokens + api.n * (max_tokens + slack);
  if (reserve_tokens > limits_.kv_tokens)
    throw ApiError(400, "context_length_exceeded",
                   fmt::format("the request may take {} cache positions (n = {}, max_tokens = {}) but the server "
                               "holds {}; lower n or max_tokens",
                               reserve_tokens, api.n, max_tokens, limits_.kv_tokens),
                   "max_tokens");
  return g;
}

void GenerationHandler::handle(const HttpRequest& req, Responder& res, Endpoint endpoint) {
  const auto arrived = Clock::now();
  const ApiRequest api = endpoint == Endpoint::chat ? parse_chat_request(req.body) : parse_completion_request(req.body);
  if (!api.model.empty() && api.model != limits_.model_id)
    throw ApiError(404, "model_not_found",
                   fmt::format("the model '{}' does not exist; this server serves '{}'", api.model, limits_.model_id),
                   "model");
  int reserve_tokens = 0;
  GenerationRequest generation = prepare(api, reserve_tokens);
  const std::string id = (endpoint == Endpoint::chat ? "chatcmpl-" : "cmpl-") + random_hex(12);
  const std::string control_token = random_hex(16);
  Exchange exchange{id, scheduler_.submit(id, control_token, std::move(generation), reserve_tokens),
                    CompletionAssembler(api, id, limits_.model_id,
                                        offers_search(api) ? engine_.tool_call_format() : tool_format(api),
                                        offers_search(api), api.tools),
                    arrived};
  exchange.headers = {{"X-Request-Id", id}, {"X-Control-Token", control_token}};
  if (api.stream)
    answer_stream(exchange, res);
  else
    answer_whole(exchange, res);
}

// Waits for the job's next events; false when the client left (the job is cancelled).
bool GenerationHandler::next_update(Exchange& x, Responder& res, JobUpdate& update) {
  x.job->wait(kPollInterval, update);
  if (res.client_gone() && !update.done()) {
    scheduler_.cancel(x.id);
    metrics_.count_cancelled();
    return false;
  }
  return true;
}

// The generation's events as SSE chunks; with "stop" met, the job is cancelled.
std::string GenerationHandler::take_chunks(Exchange& x, JobUpdate& update) {
  std::string out;
  for (const auto& chunk : x.assembler.on_events(update.events)) out += sse_event(chunk);
  update.events.clear();
  record_first_text(x, metrics_);
  if (x.assembler.all_stopped() && !x.cancel_sent) {
    scheduler_.cancel(x.id);
    x.cancel_sent = true;
  }
  return out;
}

void GenerationHandler::answer_whole(Exchange& x, Responder& res) {
  JobUpdate update;
  while (!update.done()) {
    if (!next_update(x, res, update)) return;
    take_chunks(x, update);
  }
  if (!update.error.empty()) throw ApiError(500, "generation_failed", update.error);
  record_finish(x, metrics_, *update.result);
  res.send(HttpResponse{.body = json_text(x.assembler.response(*update.result, update.timed_out)),
                        .headers = x.headers});
}

void GenerationHandler::answer_stream(Exchange& x, Responder& res) {
  HttpResponse head{.content_type = "text/event-stream", .headers = x.headers};
  head.headers.emplace_back("Cache-Control", "no-cache");
  if (!res.start_stream(head) || !res.write(sse_event(x.assembler.opening_chunk()))) {
    scheduler_.cancel(x.id);
    metrics_.count_cancelled();
    return;
  }
  JobUpdate update;
  while (!update.done()) {
    if (!next_update(x, res, update)) return;
    std::string out = take_chunks(x, update);
    if (update.done()) {
      if (!update.error.empty()) {
        out += sse_event(ApiError(500, "generation_failed", update.error).body());
      } else {
        for (const auto& chunk : x.assembler.closing_chunks(*update.result, update.timed_out)) out += sse_event(chunk);
        record_finish(x, metrics_, *update.result);
      }
      out += kSseDone;
    }
    if (!res.write(out)) {
      // The client went away mid-stream.
      if (!update.done()) scheduler_.cancel(x.id);
      metrics_.count_cancelled();
      return;
    }
  }
  res.end_stream();
}

}  // namespace s1::server
