#pragma once
// POST /v1/chat/completions and /v1/completions: from a request body to a
// queued job, then the answer as one JSON response or as an SSE stream. The
// request id is in the X-Request-Id header and in every streamed chunk's "id";
// live control of it also needs the X-Control-Token header's value, which only
// this client gets. A client that disconnects (queued, streaming or waiting
// for a whole answer) cancels its job.
#include <atomic>
#include <string>

#include "api/engine.h"
#include "server/http_message.h"
#include "server/request_parser.h"

namespace s1::server {

class Scheduler;
class Metrics;
struct Exchange;
struct JobUpdate;

struct GenerationLimits {
  int ctx = 4096;       // tokens per request (prompt + generation)
  int kv_tokens = 0;    // the shared cache's capacity; a request needing more is refused
  std::string model_id;
  std::function<std::vector<SearchResult>(const std::string& query)> search;  // the built-in search tool, if any
};

class GenerationHandler {
 public:
  GenerationHandler(Engine& engine, Scheduler& scheduler, Metrics& metrics, GenerationLimits limits);
  void handle(const HttpRequest& req, Responder& res, Endpoint endpoint);
  const GenerationLimits& limits() const { return limits_; }
  // The prompt a chat request renders to (llama-server's /apply-template).
  std::string render_prompt(const ApiRequest& api) const;

 private:
  // Renders, tokenizes and sizes the request; sets the cache positions it may take.
  GenerationRequest prepare(const ApiRequest& api, int& reserve_tokens) const;
  // The model's tool-call syntax when the request offers tools (a 400 when the model has none).
  std::optional<ToolCallFormat> tool_format(const ApiRequest& api) const;
  nlohmann::json template_vars(const ApiRequest& api) const;  // the request's, with the tools offered
  bool offers_search(const ApiRequest& api) const;  // chat requests, when the server has a search tool
  bool next_update(Exchange& exchange, Responder& res, JobUpdate& update);
  std::string take_chunks(Exchange& exchange, JobUpdate& update);
  void answer_whole(Exchange& exchange, Responder& res);
  void answer_stream(Exchange& exchange, Responder& res);

  Engine& engine_;
  Scheduler& scheduler_;
  Metrics& metrics_;
  GenerationLimits limits_;
};

}  // namespace s1::server
