#pragma once
// A chat-completions server on a free 127.0.0.1 port, running on its own
// thread for the owner's lifetime: the tests' stand-in for an OpenAI-compatible endpoint.
#include <httplib.h>

#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace s1test {

class LoopbackServer {
 public:
  // `models`: ids GET /v1/models lists (none: that route is absent, a 404).
  explicit LoopbackServer(std::function<void(const httplib::Request&, httplib::Response&)> handler,
                          std::vector<std::string> models = {}) {
    server_.Post("/v1/chat/completions", std::move(handler));
    if (!models.empty())
      server_.Get("/v1/models", [models](const httplib::Request&, httplib::Response& res) {
        std::string data;
        for (const auto& id : models) data += (data.empty() ? "" : ",") + ("{\"id\": \"" + id + "\"}");
        res.set_content("{\"object\": \"list\", \"data\": [" + data + "]}", "application/json");
      });
    port_ = server_.bind_to_any_port("127.0.0.1");
    if (port_ <= 0) throw std::runtime_error("cannot bind a loopback port");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() is a no-op until the accept loop runs, so wait for it (connections
    // made meanwhile already queue on the bound socket).
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~LoopbackServer() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace s1test
