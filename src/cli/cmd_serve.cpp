// s1 serve: the OpenAI-compatible HTTP server with reasoning controls, live
// control of requests in flight, continuous batching and the web chat UI.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <thread>

#include "cli/command.h"
#include "cli/default_model.h"
#include "cli/engine_flags.h"
#include "cli/search_flags.h"
#include "server/http_server.h"
#include "util/error.h"

namespace s1::cli {
namespace {

struct ServeOptions {
  std::string model;
  SearchFlags search;
  int threads = 0;
  int cache_ram_mb = EngineOptions{}.cache_ram_mb;
  ThinkingOverrides thinking;
  server::ServerOptions server;
};

int run_serve(ServeOptions& o) {
  o.model = model_or_bundled(o.model);
  auto& s = o.server;
  if (s.model_id.empty()) s.model_id = std::filesystem::path(o.model).stem().string();

  // SIGINT/SIGTERM go to one waiting thread (blocked everywhere else, so
  // before any thread starts), which stops the server cleanly.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  EngineOptions engine_options = server::engine_options_for(s, o.model, o.threads);
  engine_options.thinking = o.thinking;
  engine_options.cache_ram_mb = o.cache_ram_mb;
  Engine engine(engine_options);
  if (o.search.given()) {
    if (!engine.tool_call_format())
      fail("--search-db/--search-url: {}'s chat template teaches no tool-call syntax s1 reads, so it cannot call "
           "search",
           o.model);
    s.search = make_search(o.search);
  }
  server::HttpServer http(engine, s);
  const int port = http.bind();
  std::fprintf(stderr, "s1 serve: %s on http://%s:%d (parallel %d, ctx %d per request, thinking format %s)\n",
               s.model_id.c_str(), s.host.c_str(), port, s.parallel, http.ctx(), engine.thinking_format().name.c_str());
  std::fflush(stderr);

  // The first SIGTERM or SIGINT drains (requests in flight finish, new ones
  // get 503), the second stops at once.
  std::atomic<bool> served{false};
  std::thread drainer;
  std::thread watcher([&] {
    int signal = 0;
    sigwait(&stop_signals, &signal);
    if (served) return;
    std::fprintf(stderr, "s1 serve: draining (requests in flight finish; signal again to stop now)\n");
    std::fflush(stderr);
    drainer = std::thread([&] { http.drain(); });
    sigwait(&stop_signals, &signal);
    if (!served) http.stop();
  });
  http.run();
  // run() returns once stopped or drained; wake the watcher from whichever wait it is in.
  served = true;
  pthread_kill(watcher.native_handle(), SIGTERM);
  watcher.join();
  if (drainer.joinable()) drainer.join();
  std::fprintf(stderr, "s1 serve: stopped\n");
  return 0;
}

}  // namespace

S1_COMMAND(serve, "Serve a model over an OpenAI-compatible HTTP API with a web chat UI") {
  auto o = std::make_shared<ServeOptions>();
  auto& s = o->server;
  add_model_option(app, o->model, "GGUF model to serve");
  app.add_option("--host", s.host, "Address to listen on")->capture_default_str();
  app.add_option("--port", s.port, "Port (0: any free port, printed at start)")
      ->check(CLI::Range(0, 65535))->capture_default_str();
  app.add_option("--np,--parallel", s.parallel, "Requests decoded together (each gets --ctx tokens of cache)")
      ->check(CLI::Range(1, 256))->capture_default_str();
  app.add_option("-c,--ctx,--ctx-size", s.ctx, "Context per request in tokens (prompt + generation)")
      ->check(CLI::Range(64, 1 << 20))->capture_default_str();
  app.add_option("--queue", s.queue, "Requests that may wait for a slot; more get 429")
      ->check(CLI::Range(0, 100000))->capture_default_str();
  app.add_option("--timeout", s.timeout_seconds, "Seconds a request may take, queueing included")
      ->check(CLI::Range(1, 86400))->capture_default_str();
  app.add_option("--max-body", s.max_body_bytes, "Largest request body in bytes (413 past it)")
      ->check(CLI::Range(size_t(1024), size_t(1) << 30))->capture_default_str();
  app.add_option("--api-key", s.api_key, "Require 'Authorization: Bearer KEY' on /v1/*");
  app.add_option("--allowed-hosts", s.allowed_hosts,
                 "Without --api-key, the Host names accepted besides --host and loopback ('*': any)")
      ->delimiter(',');
  app.add_option("--backlog", s.backlog, "Connections the kernel queues before they are accepted")
      ->check(CLI::Range(1, 65535))->capture_default_str();
  app.add_option("--max-connections", s.max_connections, "Open connections at once; more get 503")
      ->check(CLI::Range(1, 1000000))->capture_default_str();
  app.add_option("--cors", s.cors_origin, "Allow browser calls from this origin ('*' for any)");
  add_search_flags(app, o->search);
  app.add_option("--alias", s.model_id, "Model name to serve under (default: the file's stem)");
  app.add_option("-t,--threads", o->threads, "Compute threads (0: every core)")->check(CLI::Range(0, 1024));
  add_cache_ram_flag(app, o->cache_ram_mb);
  auto& thinking = o->thinking;
  app.add_option_function<std::string>("--think-open", [&thinking](const std::string& v) { thinking.open = v; },
                                       "Text that opens the model's thinking (default: detected)");
  app.add_option_function<std::string>("--think-close", [&thinking](const std::string& v) { thinking.close = v; },
                                       "Text that ends the model's thinking (default: detected)");
  app.add_option_function<std::string>("--answer-prefix",
                                       [&thinking](const std::string& v) { thinking.answer_prefix = v; },
                                       "Text appended after a forced end of thinking");
  return [o] { return run_serve(*o); };
}

}  // namespace s1::cli
