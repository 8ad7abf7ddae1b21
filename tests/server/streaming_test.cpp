// SSE streaming: OpenAI's framing, the request id in the first event and the
// header, the streamed text equal to the non-streamed answer, usage at the
// end, a voted choice 0 with n samples, and many clients at once.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "server/server_fixture.h"

namespace s1test {
namespace {

using nlohmann::json;

class Streaming : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new TestServer(); }
  static void TearDownTestSuite() { delete server_; }
  static int port() { return server_->port(); }
  static TestServer* server_;
};
TestServer* Streaming::server_ = nullptr;

json thinking_request() {
  return {{"messages", user_message("Why is the sky blue?")},
          {"max_tokens", 30},
          {"temperature", 0},
          {"thinking", {{"max_tokens", 10}, {"answer_max_tokens", 8}}}};
}

TEST_F(Streaming, FramingIdAndTextMatchTheWholeResponse) {
  json body = thinking_request();
  body["stream_options"] = {{"include_usage", true}};
  SseStream s = post_stream(port(), "/v1/chat/completions", body);
  ASSERT_EQ(s.status, 200);
  EXPECT_EQ(s.framing_error, "");
  EXPECT_TRUE(s.done);
  ASSERT_GE(s.events.size(), 3u);
  // The first event carries the id (as does the header) and the role.
  EXPECT_FALSE(s.request_id.empty());
  EXPECT_EQ(s.events.front()["id"], s.request_id);
  EXPECT_EQ(s.events.front()["choices"][0]["delta"]["role"], "assistant");
  for (const auto& e : s.events) {
    EXPECT_EQ(e["object"], "chat.completion.chunk");
    EXPECT_EQ(e["id"], s.request_id);
  }
  // Finish reason in the last choice chunk, then usage with no choices.
  const json& usage_chunk = s.events.back();
  EXPECT_TRUE(usage_chunk["choices"].empty());
  EXPECT_LE(usage_chunk["usage"]["completion_tokens_details"]["reasoning_tokens"].get<int>(), 10);
  EXPECT_EQ(s.events[s.events.size() - 2]["choices"][0]["finish_reason"], "stop");

  HttpResult whole = post_json(port(), "/v1/chat/completions", thinking_request());
  ASSERT_EQ(whole.status, 200);
  // The same request again: its whole prompt comes from the prompt cache.
  json streamed = usage_chunk["usage"], again = whole.body["usage"];
  EXPECT_EQ(again["prompt_tokens_details"]["cached_tokens"], again["prompt_tokens"]);
  streamed.erase("prompt_tokens_details");
  again.erase("prompt_tokens_details");
  EXPECT_EQ(streamed, again);
  EXPECT_EQ(s.reasoning(), whole.body["choices"][0]["message"]["reasoning_content"]);
  EXPECT_EQ(s.content(), whole.body["choices"][0]["message"]["content"]);
}

TEST_F(Streaming, CompletionsStreamText) {
  SseStream s = post_stream(port(), "/v1/completions", {{"prompt", "abc"}, {"max_tokens", 5}, {"temperature", 0}});
  ASSERT_EQ(s.status, 200);
  EXPECT_EQ(s.framing_error, "");
  EXPECT_TRUE(s.done);
  for (const auto& e : s.events) EXPECT_EQ(e["object"], "text_completion");
  EXPECT_TRUE(s.events.back()["choices"][0]["finish_reason"].is_string());
}

TEST_F(Streaming, SamplesStreamAsChoicesAndTheVoteComesLast) {
  json body = {{"messages", user_message("hi")}, {"max_tokens", 10}, {"n", 2}, {"seed", 3},
               {"aggregate", "best"}, {"thinking", {{"max_tokens", 3}}}};
  SseStream s = post_stream(port(), "/v1/chat/completions", body);
  ASSERT_EQ(s.status, 200);
  EXPECT_TRUE(s.done);
  EXPECT_EQ(s.events.front()["choices"].size(), 3u);  // the vote and two samples
  const json& last = s.events.back()["choices"];
  ASSERT_EQ(last.size(), 3u);
  const json& voted = last[2];
  EXPECT_EQ(voted["index"], 0);
  EXPECT_EQ(voted["vote"]["method"], "best");
  const int winner = voted["vote"]["winner"];
  EXPECT_EQ(voted["delta"]["content"].get<std::string>(), s.content(winner));
  EXPECT_EQ(voted["delta"]["reasoning_content"].get<std::string>(), s.reasoning(winner));
}

TEST_F(Streaming, ThirtyTwoConcurrentClientsAllComplete) {
  std::atomic<int> completed{0};
  std::vector<std::string> failures(32);
  std::vector<std::thread> clients;
  for (int i = 0; i < 32; ++i)
    clients.emplace_back([&, i] {
      json body = {{"messages", user_message("client " + std::to_string(i))}, {"max_tokens", 12},
                   {"thinking", {{"max_tokens", 4}}}, {"seed", i}};
      SseStream s = post_stream(port(), "/v1/chat/completions", body);
      if (s.status != 200 || !s.done || !s.framing_error.empty())
        failures[size_t(i)] = "status " + std::to_string(s.status) + " " + s.framing_error;
      else
        ++completed;
    });
  for (auto& t : clients) t.join();
  for (const auto& f : failures) EXPECT_EQ(f, "");
  EXPECT_EQ(completed, 32);
}

}  // namespace
}  // namespace s1test
