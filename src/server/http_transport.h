#pragma once
// HTTP/1.1 over TCP on Boost.Beast/Asio: connections are served by a few I/O
// threads without a thread each, so slow or idle clients cost memory, not
// threads, and every read has a deadline (headers, body, keep-alive idle).
// The body is read only after the application accepted the headers (route,
// method, key, content type), and its limit holds for chunked bodies too.
// Pipelined requests are answered in order; responses go out with
// TCP_NODELAY. Handlers that block (generations) run on their own threads.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "server/http_message.h"

namespace s1::server {

struct TransportLimits {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port
  int backlog = 1024;
  int max_connections = 1024;  // open at once; more get 503 and are closed
  int max_handler_threads = 256;  // blocking handlers at once; more get 503
  size_t max_body_bytes = 1 << 20;
  size_t max_header_bytes = 16 << 10;
  int max_header_fields = 100;
  std::chrono::seconds header_timeout{10};  // from a request's first byte to its last header
  std::chrono::seconds body_timeout{60};
  std::chrono::seconds idle_timeout{60};   // a kept-alive connection waiting for its next request
  std::chrono::seconds write_timeout{60};  // one write of a response that the client does not read
  int io_threads = 2;
};

using RequestHandler = std::function<void(const HttpRequest&, Responder&)>;

// What the application decides from a request's headers, before its body.
struct HeadDecision {
  std::optional<HttpResponse> refusal = {};  // answer this and skip the body
  RequestHandler handler = {};
  bool blocking = false;  // runs on its own thread (may wait, may stream)
};

struct TransportHooks {
  std::function<HeadDecision(const HttpRequest& head)> decide;
  // Sees every response's status, whoever made it (refusals, 413s,
  // handlers), and may add headers to it.
  std::function<void(const HttpRequest& head, int status, HttpHeaders& headers)> before_response;
  // A transport-level error's body (400, 413, 431, 503), in the API's format.
  std::function<HttpResponse(int status, const std::string& message)> error;
};

class HttpTransport {
 public:
  HttpTransport(TransportLimits limits, TransportHooks hooks);
  ~HttpTransport();

  int bind();   // returns the port; s1::Error when it cannot listen
  void run();   // serves on the calling thread (and io_threads - 1 more) until stop()
  void stop();  // any thread; closes every connection and waits for the handler threads
  void stop_accepting();  // any thread; new connections are refused, open ones still served
  int busy_handlers() const;  // blocking handlers running now

 private:
  friend class Connection;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace s1::server
