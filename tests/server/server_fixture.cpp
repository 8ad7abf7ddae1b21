#include "server/server_fixture.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <mutex>
#include <sstream>

#include "support/test_support.h"

namespace s1test {

const std::string& tiny_model() {
  static const std::string path = [] {
    auto file = (temp_dir("server-model") / "tiny.gguf").string();
    auto r = run_s1({"mkmodel", "--arch", "qwen2", "--layers", "2", "--embd", "64", "--heads", "4", "--kv-heads",
                     "2", "--ff", "96", "--ctx", "32768", "-o", file});
    if (r.exit_code != 0) throw std::runtime_error("mkmodel failed: " + r.err);
    return file;
  }();
  return path;
}

s1::server::ServerOptions TestServer::defaults() {
  s1::server::ServerOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.ctx = 16384;
  o.parallel = 4;
  o.queue = 64;
  o.model_id = "tiny";
  return o;
}

TestServer::TestServer(s1::server::ServerOptions options) {
  engine_ = std::make_unique<s1::Engine>(s1::server::engine_options_for(options, tiny_model(), 1));
  http_ = std::make_unique<s1::server::HttpServer>(*engine_, options);
  port_ = http_->bind();
  thread_ = std::thread([this] { http_->run(); });
}

TestServer::~TestServer() {
  http_->stop();
  thread_.join();
}

std::unique_ptr<httplib::Client> TestServer::client() const {
  auto c = std::make_unique<httplib::Client>("127.0.0.1", port_);
  c->set_read_timeout(60, 0);
  return c;
}

namespace {
std::mutex tokens_mutex;
std::map<std::string, std::string> tokens_by_id;

void remember_control_token(const std::string& id, const std::string& token) {
  if (id.empty()) return;
  std::lock_guard lock(tokens_mutex);
  tokens_by_id[id] = token;
}
}  // namespace

std::string control_token_of(const std::string& request_id) {
  std::lock_guard lock(tokens_mutex);
  auto found = tokens_by_id.find(request_id);
  return found == tokens_by_id.end() ? "" : found->second;
}

HttpResult control(int port, const std::string& id, const nlohmann::json& command) {
  return post_json(port, "/v1/requests/" + id + "/control", command.dump(),
                   {{"X-Control-Token", control_token_of(id)}});
}

static HttpResult to_result(const httplib::Result& r) {
  HttpResult out;
  if (!r) return out;
  out.status = r->status;
  out.request_id = r->get_header_value("X-Request-Id");
  out.control_token = r->get_header_value("X-Control-Token");
  remember_control_token(out.request_id, out.control_token);
  out.retry_after = r->get_header_value("Retry-After");
  out.body = nlohmann::json::parse(r->body, nullptr, false);
  return out;
}

HttpResult post_json(int port, const std::string& path, const std::string& body, const httplib::Headers& headers) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(60, 0);
  return to_result(c.Post(path.c_str(), headers, body, "application/json"));
}

HttpResult post_json(int port, const std::string& path, const nlohmann::json& body) {
  return post_json(port, path, body.dump());
}

HttpResult get_json(int port, const std::string& path) {
  httplib::Client c("127.0.0.1", port);
  return to_result(c.Get(path.c_str()));
}

static std::string join_deltas(const std::vector<nlohmann::json>& events, int choice, const char* field) {
  std::string text;
  for (const auto& e : events)
    for (const auto& c : e.value("choices", nlohmann::json::array()))
      if (c["index"] == choice && c.contains("delta") && c["delta"].contains(field))
        text += c["delta"][field].get<std::string>();
  return text;
}

std::string SseStream::reasoning(int choice) const { return join_deltas(events, choice, "reasoning_content"); }
std::string SseStream::content(int choice) const { return join_deltas(events, choice, "content"); }

namespace {

// A blocking HTTP/1.1 exchange on a plain socket ("Connection: close"), with
// the chunked body handed over as it arrives. (cpp-httplib's client drops
// connections now and then when dozens start at once; curl, Python and node
// do not, so the streaming tests use this.)
class RawExchange {
 public:
  RawExchange(int port, const std::string& request) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(uint16_t(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval timeout{60, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return;
    for (size_t sent = 0; sent < request.size();) {
      ssize_t n = send(fd_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += size_t(n);
    }
    connected_ = true;
  }
  ~RawExchange() { close(fd_); }

  // Reads the head; returns the status (-1 on failure) and fills `headers` (lower-case names).
  int read_head(std::map<std::string, std::string>& headers) {
    if (!connected_) return -1;
    size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos)
      if (!fill()) return -1;
    std::istringstream head(buffer_.substr(0, end));
    buffer_.erase(0, end + 4);
    std::string line, version;
    int status = -1;
    std::getline(head, line);
    std::istringstream(line) >> version >> status;
    while (std::getline(head, line)) {
      auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon), value = line.substr(colon + 1);
      for (auto& c : name) c = char(std::tolower(c));
      value.erase(0, value.find_first_not_of(' '));
      if (!value.empty() && value.back() == '\r') value.pop_back();
      headers[name] = value;
    }
    return status;
  }

  // Decodes the chunked body, calling `on_data` per chunk until the last
  // chunk (true) or until on_data returns false or the connection fails.
  bool read_chunked(const std::function<bool(const std::string&)>& on_data) {
    for (;;) {
      size_t eol;
      while ((eol = buffer_.find("\r\n")) == std::string::npos)
        if (!fill()) return false;
      const size_t size = std::stoul(buffer_.substr(0, eol), nullptr, 16);
      buffer_.erase(0, eol + 2);
      while (buffer_.size() < size + 2)
        if (!fill()) return false;
      std::string data = buffer_.substr(0, size);
      buffer_.erase(0, size + 2);
      if (size == 0) return true;
      if (!on_data(data)) return false;
    }
  }

 private:
  bool fill() {
    char chunk[16384];
    ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer_.append(chunk, size_t(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buffer_;
};

}  // namespace

SseStream post_stream(int port, const std::string& path, nlohmann::json body,
                      const std::function<bool(const nlohmann::json&)>& on_event) {
  body["stream"] = true;
  const std::string payload = body.dump();
  RawExchange exchange(port, "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                                 "Content-Type: application/json\r\nContent-Length: " +
                                 std::to_string(payload.size()) + "\r\n\r\n" + payload);
  SseStream out;
  std::map<std::string, std::string> headers;
  out.status = exchange.read_head(headers);
  out.request_id = headers["x-request-id"];
  remember_control_token(out.request_id, headers["x-control-token"]);
  if (out.status != 200) return out;
  std::string pending;
  const bool complete = exchange.read_chunked([&](const std::string& data) {
    pending += data;
    for (size_t end; (end = pending.find("\n\n")) != std::string::npos;) {
      std::string event = pending.substr(0, end);
      pending.erase(0, end + 2);
      if (!event.starts_with("data: ") || event.find('\n') != std::string::npos) {
        if (out.framing_error.empty()) out.framing_error = "not one data line: " + event;
        continue;
      }
      std::string payload = event.substr(6);
      if (out.done && out.framing_error.empty()) out.framing_error = "an event after [DONE]";
      if (payload == "[DONE]") {
        out.done = true;
        continue;
      }
      auto parsed = nlohmann::json::parse(payload, nullptr, false);
      if (parsed.is_discarded()) {
        if (out.framing_error.empty()) out.framing_error = "not JSON: " + payload;
        continue;
      }
      out.events.push_back(parsed);
      if (on_event && !on_event(parsed)) return false;
    }
    return true;
  });
  if (complete && !pending.empty() && out.framing_error.empty()) out.framing_error = "unterminated event: " + pending;
  return out;
}

double metric(int port, const std::string& sample) {
  httplib::Client c("127.0.0.1", port);
  auto r = c.Get("/metrics");
  if (!r) return -1;
  std::istringstream lines(r->body);
  for (std::string line; std::getline(lines, line);)
    if (line.starts_with(sample + " ")) return std::stod(line.substr(sample.size() + 1));
  return -1;
}

nlohmann::json user_message(const std::string& text) {
  return nlohmann::json::array({{{"role", "user"}, {"content", text}}});
}

}  // namespace s1test
