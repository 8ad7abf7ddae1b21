#include "server/http_server.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <cctype>
#include <csignal>
#include <functional>
#include <string_view>

#include "server/api_error.h"
#include "server/generation_handler.h"
#include "server/http_transport.h"
#include "server/metrics.h"
#include "server/scheduler.h"
#include "server/sse.h"
#include "server/web_assets.h"
#include "util/constant_time.h"
#include "util/error.h"

namespace s1::server {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "Authorization: Bearer KEY" with the scheme in any case (RFC 7235: auth
// schemes are case-insensitive; OpenAI clients send "Bearer", others
// "bearer"). The key is compared in constant time, so how long a refusal
// takes does not tell a guesser how much of the key was right.
bool bearer_matches(std::string_view header, std::string_view key) {
  constexpr std::string_view kScheme = "bearer ";
  if (header.size() <= kScheme.size() || lower(header.substr(0, kScheme.size())) != kScheme) return false;
  std::string_view given = header.substr(kScheme.size());
  given.remove_prefix(std::min(given.find_first_not_of(' '), given.size()));
  return constant_time_equal(given, key);
}

// application/json or a +json type, any parameters (charset) allowed.
bool is_json_media_type(std::string_view content_type) {
  std::string type = lower(content_type.substr(0, content_type.find(';')));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  return type == "application/json" || (type.starts_with("application/") && type.ends_with("+json"));
}

// The host name of a Host header: without the port, IPv6 brackets kept.
std::string host_name(std::string_view host) {
  if (host.starts_with('[')) return lower(host.substr(0, host.find(']') + 1));
  return lower(host.substr(0, host.find(':')));
}

bool is_ip_literal(std::string_view name) {
  if (name.starts_with('[')) return true;
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) { return std::isdigit(uint8_t(c)) || c == '.'; });
}

constexpr const char* kMissingUiPage =
    "<!doctype html><html><head><meta charset=\"utf-8\"><title>s1.cpp</title></head><body>"
    "<h1>s1.cpp server</h1><p>The web chat UI was not built into this binary. Build it with "
    "<code>npm ci &amp;&amp; npm run build</code> in <code>web/</code> (scripts/setup does), then rebuild "
    "<code>s1</code>.</p><p>The API is at <code>/v1/chat/completions</code>; see docs/server.md.</p></body></html>";

// Metric labels: one per route, whatever the ids in the path.
std::string endpoint_label(const std::string& p) {
  for (const char* known : {"/v1/chat/completions", "/v1/completions", "/v1/models", "/health", "/metrics"})
    if (p == known) return p;
  if (p.starts_with("/v1/requests/")) return "/v1/requests/control";
  if (!p.starts_with("/v1/")) return "/ui";
  return "other";
}

HttpResponse error_response(const ApiError& error) {
  HttpResponse r{.status = error.status(), .body = json_text(error.body())};
  if (error.status() == 429 || error.status() == 503) r.headers.emplace_back("Retry-After", "1");
  return r;
}

HttpResponse json_response(const nlohmann::json& body) { return HttpResponse{.body = json_text(body)}; }

// The error codes of the statuses the transport answers itself.
ApiError transport_error(int status, const std::string& message) {
  switch (status) {
    case 400: return ApiError(400, "bad_request", message);
    case 413: return ApiError(413, "request_too_large", message);
    case 431: return ApiError(431, "request_header_fields_too_large", message);
    case 503: return ApiError(503, "server_busy", message);
    default: return ApiError(status, "http_error", message);
  }
}

struct Route {
  std::string method;  // GET routes also answer HEAD
  std::string path;    // exact, or a prefix when `matches` is set
  std::function<bool(const std::string&)> matches = {};
  bool needs_key = false;  // /v1/*: the API key, when the server has one
  bool json_body = false;  // POST: Content-Type must be JSON (415)
  bool blocking = false;   // waits on a generation: its own thread
  RequestHandler handle;

  bool serves(const std::string& request_path) const { return matches ? matches(request_path) : request_path == path; }
};

}  // namespace

EngineOptions engine_options_for(const ServerOptions& options, std::string model_path, int n_threads) {
  EngineOptions engine;
  engine.model_path = std::move(model_path);
  engine.n_ctx = options.ctx * options.parallel;
  engine.n_threads = n_threads;
  // n samples per request, and an adaptive vote's copy of its prompt.
  // Each sample may run Generator::kProbesInFlight probes (thinking.stop), each its own sequence.
  engine.max_sequences = options.parallel * (kMaxSamples * (1 + Generator::kProbesInFlight) + 1) + 1;
  return engine;
}

struct HttpServer::Impl {
  Engine& engine;
  ServerOptions options;
  Metrics metrics;
  Scheduler scheduler;
  GenerationHandler generation;
  std::vector<Route> routes;
  std::atomic<bool> draining{false}, stopped{false};
  HttpTransport transport;

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
                                    .model_id = options.model_id,
                                    .search = options.search}),
        routes(make_routes()),
        transport(transport_limits(), TransportHooks{.decide = [this](const HttpRequest& h) { return decide(h); },
                                                     .before_response = [this](const HttpRequest& h, int status,
                                                                               HttpHeaders& headers) {
                                                       before_response(h, status, headers);
                                                     },
                                                     .error = [](int status, const std::string& message) {
                                                       return error_response(transport_error(status, message));
                                                     }}) {}

  TransportLimits transport_limits() const {
    TransportLimits l;
    l.host = options.host;
    l.port = options.port;
    l.backlog = options.backlog;
    l.max_connections = options.max_connections;
    // Every streaming client holds a handler thread for its whole generation.
    l.max_handler_threads = options.queue + options.parallel + 16;
    l.max_body_bytes = options.max_body_bytes;
    return l;
  }

  // What to do with a request, from its headers alone: nothing is read of a
  // body that would be refused (wrong host, route, method, key or type).
  HeadDecision decide(const HttpRequest& head) const {
    try {
      check_host(head);
      if (draining) {
        HttpResponse r = error_response(ApiError(503, "server_draining", "the server is shutting down; retry elsewhere"));
        r.close_connection = true;
        return {.refusal = std::move(r)};
      }
      if (head.method == "OPTIONS" && !options.cors_origin.empty()) return {.refusal = preflight(head)};
      const Route* route = nullptr;
      bool path_known = false;
      for (const Route& r : routes) {
        if (!r.serves(head.path)) continue;
        path_known = true;
        if (head.method == r.method || (r.method == "GET" && head.method == "HEAD")) route = &r;
      }
      if (!path_known) throw ApiError(404, "not_found", "no such endpoint: " + head.path);
      if (!route) {
        HttpResponse r = error_response(ApiError(405, "method_not_allowed", head.method + " is not allowed here"));
        r.headers.emplace_back("Allow", allowed_methods(head.path));
        return {.refusal = std::move(r)};
      }
      if (route->needs_key) check_key(head);
      if (route->json_body && !is_json_media_type(head.header("Content-Type")))
        throw ApiError(415, "unsupported_media_type",
                       "send the body as JSON with 'Content-Type: application/json' (got '" +
                           head.header("Content-Type") + "')");
      return {.handler = guarded(route->handle), .blocking = route->blocking};
    } catch (const ApiError& e) {
      return {.refusal = error_response(e)};
    }
  }

  void before_response(const HttpRequest& head, int status, HttpHeaders& headers) {
    metrics.count_request(endpoint_label(head.path), status);
    if (options.cors_origin.empty()) return;
    headers.emplace_back("Access-Control-Allow-Origin", options.cors_origin);
    headers.emplace_back("Access-Control-Expose-Headers", "X-Request-Id, X-Control-Token");
  }

  static RequestHandler guarded(const RequestHandler& handle) {
    return [handle](const HttpRequest& req, Responder& res) {
      try {
        handle(req, res);
      } catch (const ApiError& e) {
        res.send(error_response(e));
      } catch (const std::exception& e) {
        res.send(error_response(ApiError(500, "internal_error", e.what())));
      }
    };
  }

  void check_key(const HttpRequest& req) const {
    if (options.api_key.empty()) return;
    const std::string header = req.header("Authorization");
    if (header.empty()) throw ApiError(401, "invalid_api_key", "missing API key: send 'Authorization: Bearer KEY'");
    if (!bearer_matches(header, options.api_key)) throw ApiError(401, "invalid_api_key", "incorrect API key");
  }

  void check_host(const HttpRequest& req) const {
    if (!options.api_key.empty()) return;
    const std::string host = req.header("Host");
    if (host.empty()) return;  // HTTP/1.0 without Host: no browser, no rebinding
    const std::string name = host_name(host);
    const bool wildcard_bind = options.host == "0.0.0.0" || options.host == "::";
    for (const std::string& allowed : options.allowed_hosts)
      if (allowed == "*" || lower(allowed) == name) return;
    if (name == lower(options.host) || name == "localhost" || name == "127.0.0.1" || name == "[::1]" ||
        (wildcard_bind && is_ip_literal(name)))
      return;
    throw ApiError(403, "host_not_allowed",
                   "Host '" + name + "' is not this server's; start it with --allowed-hosts " + name +
                       " (or --api-key) to serve that name");
  }

  std::string allowed_methods(const std::string& path) const {
    std::string allow;
    for (const Route& r : routes) {
      if (!r.serves(path)) continue;
      allow += (allow.empty() ? "" : ", ") + r.method + (r.method == "GET" ? ", HEAD" : "");
    }
    return allow;
  }

  // The headers a browser asks to send are allowed (the OpenAI SDK sends
  // x-stainless-*): the origin check, not a header list, is the protection.
  static HttpResponse preflight(const HttpRequest& head) {
    std::string requested = head.header("Access-Control-Request-Headers");
    if (requested.empty()) requested = "Authorization, Content-Type, X-Control-Token";
    HttpResponse r{.status = 204, .content_type = ""};
    r.headers = {{"Access-Control-Allow-Methods", "GET, POST, OPTIONS"},
                 {"Access-Control-Allow-Headers", requested},
                 {"Access-Control-Max-Age", "600"}};
    return r;
  }

  std::vector<Route> make_routes() {
    std::vector<Route> r;
    r.push_back({.method = "POST", .path = "/v1/chat/completions", .needs_key = true, .json_body = true,
                 .blocking = true, .handle = [this](const HttpRequest& req, Responder& res) {
                   generation.handle(req, res, Endpoint::chat);
                 }});
    r.push_back({.method = "POST", .path = "/v1/completions", .needs_key = true, .json_body = true,
                 .blocking = true, .handle = [this](const HttpRequest& req, Responder& res) {
                   generation.handle(req, res, Endpoint::completion);
                 }});
    r.push_back({.method = "POST",
                 .path = "/v1/requests/{id}/control",
                 .matches = [](const std::string& p) {
                   constexpr std::string_view kPrefix = "/v1/requests/", kSuffix = "/control";
                   return p.size() > kPrefix.size() + kSuffix.size() && p.starts_with(kPrefix) &&
                          p.ends_with(kSuffix) &&
                          p.find('/', kPrefix.size()) == p.size() - kSuffix.size();
                 },
                 .needs_key = true,
                 .json_body = true,
                 .handle = [this](const HttpRequest& req, Responder& res) { control(req, res); }});
    r.push_back({.method = "GET", .path = "/v1/models", .needs_key = true,
                 .handle = [this](const HttpRequest&, Responder& res) {
                   res.send(json_response({{"object", "list"}, {"data", nlohmann::json::array({model_card()})}}));
                 }});
    r.push_back({.method = "GET",
                 .path = "/v1/models/{id}",
                 .matches = [](const std::string& p) { return p.starts_with("/v1/models/") && p.size() > 11; },
                 .needs_key = true,
                 .handle = [this](const HttpRequest& req, Responder& res) {
                   const std::string id = req.path.substr(std::string_view("/v1/models/").size());
                   if (id != options.model_id)
                     throw ApiError(404, "model_not_found",
                                    "the model '" + id + "' does not exist; this server serves '" + options.model_id + "'");
                   res.send(json_response(model_card()));
                 }});
    add_llama_server_routes(r);
    r.push_back({.method = "GET", .path = "/health", .handle = [this](const HttpRequest&, Responder& res) {
                   const SchedulerStats stats = scheduler.stats();
                   res.send(json_response({{"status", "ok"},
                                           {"model", options.model_id},
                                           {"queued", stats.queued},
                                           {"active", stats.active},
                                           {"parallel", options.parallel}}));
                 }});
    r.push_back({.method = "GET", .path = "/metrics", .handle = [this](const HttpRequest&, Responder& res) {
                   const SchedulerStats stats = scheduler.stats();
                   res.send(HttpResponse{.content_type = "text/plain; version=0.0.4",
                                         .body = metrics.render(stats.queued, stats.active)});
                 }});
    add_ui_routes(r);
    return r;
  }

  nlohmann::json model_card() const {
    return {{"id", options.model_id},
            {"object", "model"},
            {"created", 0},
            {"owned_by", "s1.cpp"},
            {"context_length", generation.limits().ctx},
            {"thinking_format", engine.thinking_format().name}};
  }

  // llama-server's utility endpoints, in its shapes, for the tools built on them.
  void add_llama_server_routes(std::vector<Route>& r) {
    r.push_back({.method = "POST", .path = "/tokenize", .needs_key = true, .json_body = true,
                 .handle = [this](const HttpRequest& req, Responder& res) {
                   const TokenizeRequest t = parse_tokenize_request(req.body);
                   const Tokenizer& tok = engine.tokenizer();
                   const auto ids = tok.encode(t.content, {.add_bos = t.add_special && tok.add_bos(),
                                                           .parse_special = t.parse_special});
                   nlohmann::json tokens = nlohmann::json::array();
                   for (int32_t id : ids) {
                     if (t.with_pieces)
                       tokens.push_back({{"id", id}, {"piece", std::string(tok.piece(id, true))}});
                     else
                       tokens.push_back(id);
                   }
                   res.send(json_response({{"tokens", tokens}}));
                 }});
    r.push_back({.method = "POST", .path = "/detokenize", .needs_key = true, .json_body = true,
                 .handle = [this](const HttpRequest& req, Responder& res) {
                   const Tokenizer& tok = engine.tokenizer();
                   const auto ids = parse_detokenize_request(req.body, tok.n_vocab());
                   res.send(json_response({{"content", tok.decode(ids, true)}}));
                 }});
    r.push_back({.method = "POST", .path = "/apply-template", .needs_key = true, .json_body = true,
                 .handle = [this](const HttpRequest& req, Responder& res) {
                   res.send(json_response({{"prompt", generation.render_prompt(parse_chat_request(req.body))}}));
                 }});
    r.push_back({.method = "GET", .path = "/props", .needs_key = true,
                 .handle = [this](const HttpRequest&, Responder& res) {
                   const SamplingParams defaults;
                   res.send(json_response(
                       {{"default_generation_settings",
                         {{"n_ctx", generation.limits().ctx},
                          {"params", {{"temperature", defaults.temperature},
                                      {"top_k", defaults.top_k},
                                      {"top_p", defaults.top_p},
                                      {"min_p", defaults.min_p}}}}},
                        {"total_slots", options.parallel},
                        {"model_alias", options.model_id},
                        {"chat_template", engine.chat_template().chat_template.source()},
                        {"thinking_format", engine.thinking_format().name},
                        {"build_info", std::string("s1.cpp ") + S1_VERSION}}));
                 }});
  }

  // POST /v1/requests/{id}/control: only with the request's control token,
  // which only the client that made the request was given.
  void control(const HttpRequest& req, Responder& res) {
    constexpr size_t kPrefix = std::string_view("/v1/requests/").size();
    const std::string id = req.path.substr(kPrefix, req.path.size() - kPrefix - std::string_view("/control").size());
    const ControlCommand command = parse_control_command(req.body);
    if (!scheduler.control(id, req.header("X-Control-Token"), command))
      throw ApiError(404, "request_not_found",
                     "no request '" + id + "' is queued or running with this X-Control-Token", "id");
    nlohmann::json body = {{"id", id}, {"status", "accepted"},
                           {"action", control_action_name(command.action)}};
    if (command.action == ControlCommand::Action::think_more) body["tokens"] = command.tokens;
    res.send(json_response(body));
  }

  static void add_ui_routes(std::vector<Route>& r) {
    auto assets = web_assets();
    if (assets.empty()) {
      r.push_back({.method = "GET", .path = "/", .handle = [](const HttpRequest&, Responder& res) {
                     res.send(HttpResponse{.content_type = "text/html; charset=utf-8", .body = kMissingUiPage});
                   }});
      return;
    }
    for (const WebAsset& asset : assets) {
      RequestHandler serve = [asset](const HttpRequest&, Responder& res) {
        res.send(HttpResponse{.content_type = std::string(asset.content_type),
                              .body = std::string(asset.data.data(), asset.data.size())});
      };
      r.push_back({.method = "GET", .path = std::string(asset.path), .handle = serve});
      if (asset.path == "/index.html") r.push_back({.method = "GET", .path = "/", .handle = serve});
    }
  }
};

HttpServer::HttpServer(Engine& engine, ServerOptions options) {
  // A client that goes away mid-write must cost an error return, not the process.
  std::signal(SIGPIPE, SIG_IGN);
  if (options.model_id.empty()) options.model_id = "s1";
  impl_ = std::make_unique<Impl>(engine, std::move(options));
}

HttpServer::~HttpServer() { stop(); }

int HttpServer::bind() { return impl_->transport.bind(); }

void HttpServer::run() { impl_->transport.run(); }

int HttpServer::ctx() const { return impl_->generation.limits().ctx; }

void HttpServer::stop() {
  impl_->stopped = true;
  // Generations end (streams with what they have) once their jobs are
  // cancelled, so the transport can wait for their handler threads.
  impl_->scheduler.cancel_all();
  impl_->transport.stop();
}

void HttpServer::drain() {
  impl_->draining = true;
  impl_->transport.stop_accepting();
  // Idle: nothing queued or decoding, and no handler still writing an answer.
  for (;;) {
    const SchedulerStats stats = impl_->scheduler.stats();
    if (impl_->stopped || (stats.queued == 0 && stats.active == 0 && impl_->transport.busy_handlers() == 0)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stop();
}

}  // namespace s1::server
