#pragma once
// The server in this process on a free loopback port, over a tiny
// random-weight model made with `s1 mkmodel`, and small HTTP/SSE clients.
// Random weights write gibberish: tests assert structure and control.
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "api/engine.h"
#include "server/http_server.h"

namespace s1test {

// qwen2, 2 layers, embd 64, the tiny byte vocabulary with its ChatML template
// and <think> tokens, trained length 32768; made once per test process.
const std::string& tiny_model();

class TestServer {
 public:
  explicit TestServer(s1::server::ServerOptions options = defaults());
  ~TestServer();
  static s1::server::ServerOptions defaults();  // ctx 16384, parallel 4, queue 64, one thread

  int port() const { return port_; }
  s1::server::HttpServer& http() { return *http_; }
  std::unique_ptr<httplib::Client> client() const;

 private:
  std::unique_ptr<s1::Engine> engine_;
  std::unique_ptr<s1::server::HttpServer> http_;
  std::thread thread_;
  int port_ = 0;
};

struct HttpResult {
  int status = 0;
  nlohmann::json body;
  std::string request_id;  // X-Request-Id
  std::string control_token;  // X-Control-Token
  std::string retry_after;
};
HttpResult post_json(int port, const std::string& path, const std::string& body, const httplib::Headers& headers = {});
HttpResult post_json(int port, const std::string& path, const nlohmann::json& body);
HttpResult get_json(int port, const std::string& path);

struct SseStream {
  int status = 0;
  std::string request_id;
  std::vector<nlohmann::json> events;  // every `data:` payload but [DONE], parsed
  bool done = false;                   // [DONE] arrived
  std::string framing_error;           // first violation of the SSE framing, if any
  std::string reasoning(int choice = 0) const;  // concatenated deltas
  std::string content(int choice = 0) const;
};
// POSTs with "stream": true; `on_event` sees each event as it arrives and
// returning false drops the connection.
SseStream post_stream(int port, const std::string& path, nlohmann::json body,
                      const std::function<bool(const nlohmann::json&)>& on_event = {});

// POST /v1/requests/{id}/control with the X-Control-Token the request's
// response carried (post_stream and post_json remember each id's token).
HttpResult control(int port, const std::string& id, const nlohmann::json& command);
std::string control_token_of(const std::string& request_id);

// GET /metrics, the value of one sample line ("name{labels}"), or -1.
double metric(int port, const std::string& sample);

nlohmann::json user_message(const std::string& text);

}  // namespace s1test
