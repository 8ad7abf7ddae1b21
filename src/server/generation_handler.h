#pragma once
// POST /v1/chat/completions and /v1/completions: from a request body to a
// queued job, then the answer as one JSON response or as an SSE stream. The
// request id (for live control) is in the X-Request-Id header and in every
// streamed chunk's "id"; a streaming client that disconnects cancels its job.
#include <atomic>
#include <string>

#include "api/engine.h"
#include "server/request_parser.h"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace s1::server {

class Scheduler;
class Metrics;

struct GenerationLimits {
  int ctx = 4096;       // tokens per request (prompt + generation)
  int kv_tokens = 0;    // the shared cache's capacity; a request needing more is refused
  std::string model_id;
};

class GenerationHandler {
 public:
  GenerationHandler(Engine& engine, Scheduler& scheduler, Metrics& metrics, GenerationLimits limits);
  void handle(const httplib::Request& req, httplib::Response& res, Endpoint endpoint);
  const GenerationLimits& limits() const { return limits_; }

 private:
  // Renders, tokenizes and sizes the request; sets the cache positions it may take.
  GenerationRequest prepare(const ApiRequest& api, int& reserve_tokens) const;
  std::string new_id(Endpoint endpoint);

  Engine& engine_;
  Scheduler& scheduler_;
  Metrics& metrics_;
  GenerationLimits limits_;
};

}  // namespace s1::server
