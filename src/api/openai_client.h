#pragma once
// A small client for OpenAI-compatible chat servers (ours, llama-server, vLLM,
// hosted APIs): one non-streaming POST to /v1/chat/completions per call, with
// a Bearer key, a timeout, and retries with exponential backoff on connection
// errors, 429 and 5xx. http, and https when cpp-httplib is built with OpenSSL.
//
//   OpenAIClient client({.base_url = "http://127.0.0.1:8080", .api_key = key});
//   ChatResponse r = client.chat({{"model", "m"}, {"messages", {{{"role","user"},{"content","2+2?"}}}}});
//
// base_url may be the server root ("http://host:8080"), end in /v1, or be the
// full .../chat/completions address.
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "util/error.h"

namespace httplib {
class Client;
}

namespace s1 {

struct OpenAIClientOptions {
  std::string base_url;
  std::string api_key;           // sent as "Authorization: Bearer <key>" when not empty
  double timeout_seconds = 600;  // connect, read and write, per try
  int max_retries = 4;           // tries after the first one
  double backoff_seconds = 1;    // the first wait; doubles after each failed try
};

struct ChatResponse {
  std::string content;            // the answer (thinking removed)
  std::string reasoning_content;  // message.reasoning_content, or the <think>...</think> split out of content
  int prompt_tokens = 0, completion_tokens = 0;
  std::optional<int> reasoning_tokens;  // usage.completion_tokens_details.reasoning_tokens when reported
  std::string finish_reason;
  nlohmann::json raw;  // the whole response
};

// A reply the server gave with an HTTP error status (after retries for 429/5xx).
class HttpStatusError : public Error {
 public:
  HttpStatusError(int status, const std::string& message) : Error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

class OpenAIClient {
 public:
  // s1::Error for an address that is not http(s)://host[:port][/path].
  explicit OpenAIClient(OpenAIClientOptions options);
  ~OpenAIClient();
  OpenAIClient(const OpenAIClient&) = delete;
  OpenAIClient& operator=(const OpenAIClient&) = delete;

  // POSTs `body` (a chat completion request; "stream" is forced off).
  // Throws HttpStatusError for an error status, s1::Error (naming the URL)
  // when the server stays unreachable or answers something that is not a
  // chat completion. Safe to call from several threads at once.
  ChatResponse chat(nlohmann::json body) const;

  // The ids GET .../v1/models lists (one try, no retries); s1::Error when it fails.
  std::vector<std::string> list_models() const;

  const std::string& url() const { return url_; }  // the full chat completions address

 private:
  std::unique_ptr<httplib::Client> connect() const;  // configured with the timeout and key

  OpenAIClientOptions options_;
  std::string host_port_;  // "http://host:port"
  std::string path_;       // "/v1/chat/completions"
  std::string url_;
};

// Splits a completion's text at the thinking delimiters: the part inside
// <think>...</think> (a reply that starts inside the block, as DeepSeek-R1
// templates make it, counts too) and the rest.
void split_thinking(const std::string& text, std::string& thinking, std::string& answer);

}  // namespace s1
