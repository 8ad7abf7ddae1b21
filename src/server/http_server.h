#pragma once
// The OpenAI-compatible HTTP server over one Engine:
//   POST /v1/chat/completions, POST /v1/completions (streaming or not),
//   POST /v1/requests/{id}/control, GET /v1/models, GET /health, GET /metrics,
//   and the web chat UI at /.
// Handler threads parse and validate requests, render and tokenize prompts,
// then hand the generation to the Scheduler thread that owns the Generator.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "api/engine.h"

#include "reasoning/events.h"

namespace s1::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;          // 0: any free port (see HttpServer::bind)
  int parallel = 8;         // requests decoding together
  int queue = 64;           // requests waiting beyond those (429 past it)
  int ctx = 4096;           // tokens per request (prompt + generation)
  std::string api_key;      // non-empty: /v1/* needs "Authorization: Bearer KEY"
  std::string cors_origin;  // non-empty: the Access-Control-Allow-Origin answered
  size_t max_body_bytes = 1 << 20;
  int timeout_seconds = 600;  // per request, queue time included
  std::string model_id;       // the name /v1/models lists and requests must use
  // Without an API key, requests must name this server in `Host`: `host`,
  // localhost, a loopback address, or one of these ("*": any), so a web page
  // cannot reach it through DNS rebinding. Bound to 0.0.0.0 or ::, any IP
  // literal is also accepted (rebinding needs a name).
  std::vector<std::string> allowed_hosts;
  int backlog = 1024;          // connections the kernel queues before accept
  int max_connections = 1024;  // open at once; more get 503
  // The search tool the model may call while it thinks (--search-db, --search-url); empty: none.
  std::function<std::vector<SearchResult>(const std::string& query)> search;
};

class HttpServer {
 public:
  // The engine's context must hold ctx * parallel positions (see engine_options_for).
  HttpServer(Engine& engine, ServerOptions options);
  ~HttpServer();

  int bind();  // binds host:port (port 0: any free one); returns the port; s1::Error on failure
  void run();   // serves until stop(); call after bind()
  void stop();  // from any thread, before or while run() runs
  // Graceful shutdown (a rolling update): stops accepting connections, answers
  // new requests on open ones 503 "draining" (and /health 503, so a load
  // balancer moves on), lets every request in flight finish, then stop()s.
  // Blocks until then, or until stop() is called from elsewhere.
  void drain();
  int ctx() const;  // tokens per request: options.ctx, or less where the model holds less

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Engine options sized for the server: a KV cache of ctx * parallel positions
// shared by every request, and room for every sample of every request.
EngineOptions engine_options_for(const ServerOptions& options, std::string model_path, int n_threads);

}  // namespace s1::server
