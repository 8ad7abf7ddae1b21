#include "api/openai_client.h"

#include <httplib.h>

#include <cctype>
#include <chrono>
#include <thread>

namespace s1 {
namespace {

constexpr std::string_view kThinkOpen = "<think>", kThinkClose = "</think>";

std::string trim_leading_space(std::string_view s) {
  size_t start = s.find_first_not_of(" \t\r\n");
  return start == std::string_view::npos ? std::string() : std::string(s.substr(start));
}

std::string snippet(const std::string& body) {
  std::string s = body.substr(0, 200);
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

bool retryable_status(int status) { return status == 429 || status >= 500; }

int int_field(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_number_integer() ? it->get<int>() : 0;
}

}  // namespace

void split_thinking(const std::string& text, std::string& thinking, std::string& answer) {
  const size_t close = text.find(kThinkClose);
  const size_t open = text.find(kThinkOpen);
  if (close == std::string::npos && open == std::string::npos) {
    thinking.clear();
    answer = text;
    return;
  }
  const size_t start = open != std::string::npos && (close == std::string::npos || open < close)
                           ? open + kThinkOpen.size()
                           : 0;
  if (close == std::string::npos) {  // cut off while thinking
    thinking = trim_leading_space(std::string_view(text).substr(start));
    answer.clear();
    return;
  }
  thinking = trim_leading_space(std::string_view(text).substr(start, close - start));
  while (!thinking.empty() && std::isspace(static_cast<unsigned char>(thinking.back()))) thinking.pop_back();
  answer = trim_leading_space(std::string_view(text).substr(close + kThinkClose.size()));
}

OpenAIClient::OpenAIClient(OpenAIClientOptions options) : options_(std::move(options)) {
  const std::string& url = options_.base_url;
  const size_t scheme_end = url.find("://");
  const std::string scheme = scheme_end == std::string::npos ? "" : url.substr(0, scheme_end);
#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
  if (scheme == "https") fail("{}: https needs cpp-httplib built with OpenSSL; use an http:// address", url);
#endif
  if (scheme != "http" && scheme != "https") fail("{}: not an http:// or https:// address", url);
  const size_t slash = url.find('/', scheme_end + 3);
  host_port_ = url.substr(0, slash);
  if (host_port_.size() <= scheme_end + 3) fail("{}: the address has no host", url);
  std::string path = slash == std::string::npos ? "" : url.substr(slash);
  while (path.ends_with("/")) path.pop_back();
  if (!path.ends_with("/chat/completions"))
    path += path.ends_with("/v1") ? "/chat/completions" : "/v1/chat/completions";
  path_ = path;
  url_ = host_port_ + path_;
  if (options_.max_retries < 0) fail("{}: retries must be 0 or more, got {}", url, options_.max_retries);
  if (!(options_.timeout_seconds > 0)) fail("{}: the timeout must be positive", url);
}

OpenAIClient::~OpenAIClient() = default;

std::unique_ptr<httplib::Client> OpenAIClient::connect() const {
  auto http = std::make_unique<httplib::Client>(host_port_);
  const time_t sec = time_t(options_.timeout_seconds);
  const time_t usec = time_t((options_.timeout_seconds - double(sec)) * 1e6);
  http->set_connection_timeout(sec, usec);
  http->set_read_timeout(sec, usec);
  http->set_write_timeout(sec, usec);
  if (!options_.api_key.empty()) http->set_bearer_token_auth(options_.api_key);
  return http;
}

std::vector<std::string> OpenAIClient::list_models() const {
  const std::string path =
      path_.substr(0, path_.size() - std::string_view("/chat/completions").size()) + "/models";
  auto res = connect()->Get(path);
  if (!res) fail("{}{}: {}", host_port_, path, httplib::to_string(res.error()));
  if (res->status != 200) fail("{}{}: HTTP {}: {}", host_port_, path, res->status, snippet(res->body));
  std::vector<std::string> ids;
  nlohmann::json reply = nlohmann::json::parse(res->body, nullptr, false);
  if (reply.is_object() && reply.contains("data") && reply["data"].is_array())
    for (const auto& model : reply["data"])
      if (model.is_object() && model.contains("id") && model["id"].is_string()) ids.push_back(model["id"]);
  return ids;
}

ChatResponse OpenAIClient::chat(nlohmann::json body) const {
  body["stream"] = false;
  const std::string payload = body.dump();
  // One httplib client per call: they are not meant to be shared between threads.
  std::unique_ptr<httplib::Client> http = connect();
  std::string last_problem;
  int last_status = 0;
  double wait = options_.backoff_seconds;
  const int tries = options_.max_retries + 1;
  for (int attempt = 0; attempt < tries; ++attempt) {
    if (attempt > 0) {
      std::this_thread::sleep_for(std::chrono::duration<double>(wait));
      wait *= 2;
    }
    auto res = http->Post(path_, payload, "application/json");
    if (!res) {
      last_status = 0;
      last_problem = httplib::to_string(res.error());
      continue;
    }
    if (res->status >= 200 && res->status < 300) {
      ChatResponse out;
      try {
        out.raw = nlohmann::json::parse(res->body);
        const auto& choice = out.raw.at("choices").at(0);
        const auto& message = choice.at("message");
        auto content_field = message.find("content");  // null when the reply is only a tool call
        std::string content = content_field != message.end() && content_field->is_string()
                                  ? content_field->get<std::string>()
                                  : "";
        auto reasoning = message.find("reasoning_content");
        if (reasoning != message.end() && reasoning->is_string() && !reasoning->get<std::string>().empty()) {
          out.reasoning_content = reasoning->get<std::string>();
          out.content = content;
        } else {
          split_thinking(content, out.reasoning_content, out.content);
        }
        if (choice.contains("finish_reason") && choice["finish_reason"].is_string())
          out.finish_reason = choice["finish_reason"];
        if (auto usage = out.raw.find("usage"); usage != out.raw.end() && usage->is_object()) {
          out.prompt_tokens = int_field(*usage, "prompt_tokens");
          out.completion_tokens = int_field(*usage, "completion_tokens");
          if (auto details = usage->find("completion_tokens_details");
              details != usage->end() && details->is_object() && details->contains("reasoning_tokens"))
            out.reasoning_tokens = int_field(*details, "reasoning_tokens");
        }
      } catch (const nlohmann::json::exception&) {
        fail("{}: the reply is not a chat completion: {}", url_, snippet(res->body));
      }
      return out;
    }
    last_status = res->status;
    last_problem = fmt::format("HTTP {}: {}", res->status, snippet(res->body));
    if (!retryable_status(res->status))
      throw HttpStatusError(res->status, fmt::format("{}: {}", url_, last_problem));
  }
  std::string message =
      fmt::format("{}: {} after {} tr{}", url_, last_problem, tries, tries == 1 ? "y" : "ies");
  if (last_status) throw HttpStatusError(last_status, message);
  throw Error(message);
}

}  // namespace s1
