#pragma once
// What the server's request handlers see of HTTP: a parsed request and a
// Responder that answers it, whole or as a stream. The transport under them
// (http_transport.h, Boost.Beast) stays out of every other file.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace s1::server {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // the target without its query
  int version = 11;    // 10 or 11
  HttpHeaders headers;
  std::string body;
  // The value of a header (names are case-insensitive); "" when absent.
  std::string header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body = {};
  HttpHeaders headers = {};
  bool close_connection = false;  // "Connection: close": the client should go elsewhere (draining)
};

// How a handler answers. A handler that runs on its own thread (a generation)
// may block in write(); one that runs inline must only send().
class Responder {
 public:
  virtual ~Responder() = default;
  virtual void send(HttpResponse response) = 0;
  // A streamed answer: `head`'s status and headers, then the body in pieces
  // (chunked; for an HTTP/1.0 client, delimited by closing the connection).
  virtual bool start_stream(const HttpResponse& head) = 0;
  virtual bool write(std::string_view data) = 0;  // false: the client is gone or stopped reading
  virtual void end_stream() = 0;
  // The client closed its connection while the handler runs (seen at once,
  // not at the next write: a queued request's client may leave before any).
  virtual bool client_gone() const = 0;
};

}  // namespace s1::server
