#include "server/generation_handler.h"

#include <sys/random.h>

#include <cerrno>

#include <httplib.h>

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
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kPollInterval = std::chrono::milliseconds(200);

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// One request's progress, shared by the streaming callbacks.
struct Exchange {
  std::string id;
  std::shared_ptr<JobStream> job;
  CompletionAssembler assembler;
  Clock::time_point arrived;
  bool opened = false, ttft_seen = false, cancel_sent = false, finished = false;
};

void record_first_text(Exchange& x, Metrics& metrics) {
  if (x.ttft_seen || !x.assembler.saw_text()) return;
  x.ttft_seen = true;
  metrics.observe_time_to_first_token(seconds_since(x.arrived));
}

void record_finish(Exchange& x, Metrics& metrics, const GenerationResult& result) {
  const nlohmann::json usage = x.assembler.usage(result);
  metrics.count_tokens(usage["prompt_tokens"].get<int64_t>(), usage["completion_tokens"].get<int64_t>(),
                       usage["completion_tokens_details"]["reasoning_tokens"].get<int64_t>());
  metrics.observe_latency(seconds_since(x.arrived));
}

}  // namespace

GenerationHandler::GenerationHandler(Engine& engine, Scheduler& scheduler, Metrics& metrics, GenerationLimits limits)
    : engine_(engine), scheduler_(scheduler), metrics_(metrics), limits_(std::move(limits)) {}

// 96 bits from the kernel's CSPRNG: the id is what lets a client steer its
// request (POST /v1/requests/{id}/control), so another client must not be
// able to guess it (a salt plus a counter let one steer a neighbour's).
std::string GenerationHandler::new_id(Endpoint endpoint) {
  uint8_t bytes[12];
  size_t got = 0;
  while (got < sizeof bytes) {
    const ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw ApiError(500, "internal_error", "no random bytes for a request id");
    got += size_t(n);
  }
  return fmt::format("{}-{:02x}", endpoint == Endpoint::chat ? "chatcmpl" : "cmpl", fmt::join(bytes, ""));
}

GenerationRequest GenerationHandler::prepare(const ApiRequest& api, int& reserve_tokens) const {
  const char* prompt_param = api.endpoint == Endpoint::chat ? "messages" : "prompt";
  GenerationRequest g;
  try {
    g = api.endpoint == Endpoint::chat ? engine_.chat_request(api.messages) : engine_.text_request(api.prompt);
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

  // Beyond the sampled tokens a sample's sequence holds what the controller
  // appends (delimiters, wait texts) and a partly filled cache block.
  const int wait_tokens = int(engine_.tokenizer().encode(api.budget.wait_text).size());
  const int slack = 32 + api.budget.wait * (wait_tokens + 2) + 2 * KvCache::kBlockTokens;
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

void GenerationHandler::handle(const httplib::Request& req, httplib::Response& res, Endpoint endpoint) {
  const auto arrived = Clock::now();
  const ApiRequest api = endpoint == Endpoint::chat ? parse_chat_request(req.body) : parse_completion_request(req.body);
  if (!api.model.empty() && api.model != limits_.model_id)
    throw ApiError(404, "model_not_found",
                   fmt::format("the model '{}' does not exist; this server serves '{}'", api.model, limits_.model_id),
                   "model");
  int reserve_tokens = 0;
  GenerationRequest generation = prepare(api, reserve_tokens);
  const std::string id = new_id(endpoint);
  auto exchange = std::make_shared<Exchange>(
      Exchange{id, scheduler_.submit(id, std::move(generation), reserve_tokens),
               CompletionAssembler(api, id, limits_.model_id), arrived});
  res.set_header("X-Request-Id", id);

  if (!api.stream) {
    JobUpdate update;
    while (!update.done()) {
      exchange->job->wait(kPollInterval, update);
      exchange->assembler.on_events(update.events);
      update.events.clear();
      record_first_text(*exchange, metrics_);
      if (exchange->assembler.all_stopped() && !exchange->cancel_sent) {
        scheduler_.cancel(id);
        exchange->cancel_sent = true;
      }
    }
    if (!update.error.empty()) throw ApiError(500, "generation_failed", update.error);
    record_finish(*exchange, metrics_, *update.result);
    res.set_content(json_text(exchange->assembler.response(*update.result, update.timed_out)), "application/json");
    return;
  }

  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [this, exchange](size_t, httplib::DataSink& sink) {
        Exchange& x = *exchange;
        std::string out;
        if (!x.opened) {
          x.opened = true;
          out = sse_event(x.assembler.opening_chunk());
          return sink.write(out.data(), out.size());
        }
        JobUpdate update;
        x.job->wait(kPollInterval, update);
        for (const auto& chunk : x.assembler.on_events(update.events)) out += sse_event(chunk);
        record_first_text(x, metrics_);
        if (x.assembler.all_stopped() && !x.cancel_sent) {
          scheduler_.cancel(x.id);
          x.cancel_sent = true;
        }
        if (update.done()) {
          if (!update.error.empty()) {
            out += sse_event(ApiError(500, "generation_failed", update.error).body());
          } else {
            for (const auto& chunk : x.assembler.closing_chunks(*update.result, update.timed_out))
              out += sse_event(chunk);
            record_finish(x, metrics_, *update.result);
          }
          out += kSseDone;
          x.finished = true;
          const bool written = sink.write(out.data(), out.size());
          sink.done();
          return written;
        }
        if (out.empty()) return sink.is_writable();
        return sink.write(out.data(), out.size());
      },
      [this, exchange](bool) {
        // The stream ended before the generation did: the client went away.
        if (exchange->finished) return;
        scheduler_.cancel(exchange->id);
        metrics_.count_cancelled();
      });
}

}  // namespace s1::server
