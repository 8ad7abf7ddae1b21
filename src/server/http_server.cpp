#include "server/http_server.h"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <csignal>
#include <mutex>
#include <string_view>
#include <thread>

#include "server/api_error.h"
#include "server/generation_handler.h"
#include "server/metrics.h"
#include "server/scheduler.h"
#include "server/sse.h"
#include "server/web_assets.h"
#include "util/error.h"

namespace s1::server {
namespace {

// "Authorization: Bearer KEY" with the scheme in any case (RFC 7235: auth
// schemes are case-insensitive; OpenAI clients send "Bearer", others
// "bearer"). The key is compared in constant time, so how long a refusal
// takes does not tell a guesser how much of the key was right.
bool bearer_matches(std::string_view header, std::string_view key) {
  constexpr std::string_view kScheme = "bearer";
  if (header.size() <= kScheme.size() || header[kScheme.size()] != ' ') return false;
  for (size_t i = 0; i < kScheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) return false;
  std::string_view given = header.substr(kScheme.size());
  given.remove_prefix(std::min(given.find_first_not_of(' '), given.size()));
  unsigned diff = given.size() != key.size();
  for (size_t i = 0; i < key.size(); ++i)
    diff |= unsigned(uint8_t(key[i]) ^ uint8_t(i < given.size() ? given[i] : 0));
  return diff == 0;
}

constexpr const char* kMissingUiPage =
    "<!doctype html><html><head><meta charset=\"utf-8\"><title>s1.cpp</title></head><body>"
    "<h1>s1.cpp server</h1><p>The web chat UI was not built into this binary. Build it with "
    "<code>npm ci &amp;&amp; npm run build</code> in <code>web/</code> (scripts/setup does), then rebuild "
    "<code>s1</code>.</p><p>The API is at <code>/v1/chat/completions</code>; see docs/server.md.</p></body></html>";

// Metric labels: one per route, whatever the ids in the path.
std::string endpoint_label(const httplib::Request& req) {
  const std::string& p = req.path;
  for (const char* known : {"/v1/chat/completions", "/v1/completions", "/v1/models", "/health", "/metrics"})
    if (p == known) return p;
  if (p.starts_with("/v1/requests/")) return "/v1/requests/control";
  if (!p.starts_with("/v1/")) return "/ui";
  return "other";
}

void send_error(httplib::Response& res, const ApiError& error) {
  res.status = error.status();
  if (error.status() == 429) res.set_header("Retry-After", "1");
  res.set_content(json_text(error.body()), "application/json");
}

// A generic error body for failures httplib reports itself (413, unknown routes, bad request lines).
ApiError http_status_error(int status) {
  switch (status) {
    case 404: return ApiError(404, "not_found", "no such endpoint");
    case 413: return ApiError(413, "request_too_large", "the request body is over the size limit");
    case 405: return ApiError(405, "method_not_allowed", "method not allowed");
    default: return ApiError(status, "http_error", fmt::format("HTTP error {}", status));
  }
}

}  // namespace

EngineOptions engine_options_for(const ServerOptions& options, std::string model_path, int n_threads) {
  EngineOptions engine;
  engine.model_path = std::move(model_path);
  engine.n_ctx = options.ctx * options.parallel;
  engine.n_threads = n_threads;
  engine.max_sequences = options.parallel * kMaxSamples + 1;
  return engine;
}

struct HttpServer::Impl {
  Engine& engine;
  ServerOptions options;
  Metrics metrics;
  Scheduler scheduler;
  GenerationHandler generation;
  httplib::Server http;
  // run()/stop() may race (a signal at start-up, a test that ends at once).
  std::mutex lifecycle;
  bool stop_requested = false, run_called = false;
  std::atomic<bool> run_returned{false};

  Impl(Engine& e, ServerOptions o)
      : engine(e),
        options(std::move(o)),
        scheduler(e.generator(),
                  SchedulerLimits{.parallel = options.parallel,
                                  .queue = options.queue,
                                  .kv_tokens = e.context().kv_cache().capacity_tokens(),
                                  .timeout = std::chrono::seconds(options.timeout_seconds)}),
        generation(e, scheduler, metrics,
                   GenerationLimits{.ctx = std::min(options.ctx, e.context().max_sequence_length()),
                                    .kv_tokens = e.context().kv_cache().capacity_tokens(),
                                    .model_id = options.model_id}) {
    routes();
  }

  void check_auth(const httplib::Request& req) const {
    if (options.api_key.empty()) return;
    const std::string header = req.get_header_value("Authorization");
    if (header.empty()) throw ApiError(401, "invalid_api_key", "missing API key: send 'Authorization: Bearer KEY'");
    if (!bearer_matches(header, options.api_key)) throw ApiError(401, "invalid_api_key", "incorrect API key");
  }

  template <typename Fn>
  httplib::Server::Handler guarded(Fn fn, bool needs_auth) {
    return [this, fn, needs_auth](const httplib::Request& req, httplib::Response& res) {
      try {
        if (needs_auth) check_auth(req);
        fn(req, res);
      } catch (const ApiError& e) {
        send_error(res, e);
      } catch (const std::exception& e) {
        send_error(res, ApiError(500, "internal_error", e.what()));
      }
    };
  }

  void routes() {
    http.Post("/v1/chat/completions", guarded([this](const auto& req, auto& res) {
      generation.handle(req, res, Endpoint::chat);
    }, true));
    http.Post("/v1/completions", guarded([this](const auto& req, auto& res) {
      generation.handle(req, res, Endpoint::completion);
    }, true));
    http.Post(R"(/v1/requests/([^/]+)/control)", guarded([this](const httplib::Request& req, auto& res) {
      const std::string id = req.matches[1];
      const ControlCommand command = parse_control_command(req.body);
      if (!scheduler.control(id, command))
        throw ApiError(404, "request_not_found", "no request '" + id + "' is queued or running", "id");
      nlohmann::json body = {{"id", id}, {"status", "accepted"},
                             {"action", command.action == ControlCommand::Action::answer_now ? "answer_now"
                                                                                              : "think_more"}};
      if (command.action == ControlCommand::Action::think_more) body["tokens"] = command.tokens;
      res.set_content(json_text(body), "application/json");
    }, true));
    http.Get("/v1/models", guarded([this](const auto&, auto& res) {
      nlohmann::json model = {{"id", options.model_id},
                              {"object", "model"},
                              {"created", 0},
                              {"owned_by", "s1.cpp"},
                              {"context_length", generation.limits().ctx},
                              {"thinking_format", engine.thinking_format().name}};
      res.set_content(json_text({{"object", "list"}, {"data", nlohmann::json::array({model})}}), "application/json");
    }, true));
    http.Get("/health", guarded([this](const auto&, auto& res) {
      const SchedulerStats stats = scheduler.stats();
      res.set_content(json_text({{"status", "ok"},
                                 {"model", options.model_id},
                                 {"queued", stats.queued},
                                 {"active", stats.active},
                                 {"parallel", options.parallel}}),
                      "application/json");
    }, false));
    http.Get("/metrics", guarded([this](const auto&, auto& res) {
      const SchedulerStats stats = scheduler.stats();
      res.set_content(metrics.render(stats.queued, stats.active), "text/plain; version=0.0.4");
    }, false));
    serve_ui();

    http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
      if (res.body.empty()) send_error(res, http_status_error(res.status));
    });
    // Runs before the response is written (the logger runs after, too late
    // for a client that reads /metrics right after its response).
    http.set_post_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      metrics.count_request(endpoint_label(req), res.status);
      if (options.cors_origin.empty()) return;
      res.set_header("Access-Control-Allow-Origin", options.cors_origin);
      res.set_header("Access-Control-Expose-Headers", "X-Request-Id");
    });
    if (!options.cors_origin.empty()) {
      http.Options(R"(/.*)", [](const httplib::Request&, httplib::Response& res) {
        res.status = 204;
        res.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
        res.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type");
        res.set_header("Access-Control-Max-Age", "600");
      });
    }
    // SO_REUSEADDR but not httplib's default SO_REUSEPORT: a second server on
    // a busy port must fail to bind, not share the port.
    http.set_socket_options([](socket_t sock) {
      int yes = 1;
      setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    http.set_payload_max_length(options.max_body_bytes);
    http.set_keep_alive_max_count(1000);
    // Every streaming client holds a handler thread for its whole generation.
    const size_t threads = size_t(options.queue + options.parallel + 16);
    http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  }

  void serve_ui() {
    auto assets = web_assets();
    if (assets.empty()) {
      http.Get("/", [](const httplib::Request&, httplib::Response& res) {
        res.set_content(kMissingUiPage, "text/html; charset=utf-8");
      });
      return;
    }
    for (const WebAsset& asset : assets) {
      auto serve = [asset](const httplib::Request&, httplib::Response& res) {
        res.set_content(asset.data.data(), asset.data.size(), std::string(asset.content_type).c_str());
      };
      http.Get(std::string(asset.path), serve);
      if (asset.path == "/index.html") http.Get("/", serve);
    }
  }
};

HttpServer::HttpServer(Engine& engine, ServerOptions options) {
  // A client that goes away mid-write must cost an error return, not the process.
  std::signal(SIGPIPE, SIG_IGN);
  if (options.model_id.empty()) options.model_id = "s1";
  impl_ = std::make_unique<Impl>(engine, std::move(options));
}

HttpServer::~HttpServer() = default;

int HttpServer::bind() {
  const auto& o = impl_->options;
  int port = o.port;
  if (port == 0) {
    port = impl_->http.bind_to_any_port(o.host);
  } else if (!impl_->http.bind_to_port(o.host, port)) {
    port = -1;
  }
  if (port <= 0) fail("{}:{}: cannot listen there (address in use, or not a local address)", o.host, o.port);
  return port;
}

void HttpServer::run() {
  {
    std::lock_guard lock(impl_->lifecycle);
    if (impl_->stop_requested) return;
    impl_->run_called = true;
  }
  impl_->http.listen_after_bind();
  impl_->run_returned = true;
}

void HttpServer::stop() {
  bool started = false;
  {
    std::lock_guard lock(impl_->lifecycle);
    impl_->stop_requested = true;
    started = impl_->run_called;
  }
  // Streams end (with what they have) once their jobs are cancelled, so the
  // handler threads can be joined.
  impl_->scheduler.cancel_all();
  // httplib's stop() does nothing until the accept loop runs: wait for it.
  while (started && !impl_->run_returned && !impl_->http.is_running())
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  impl_->http.stop();
}

}  // namespace s1::server
