// The OpenAI-shaped endpoints end to end: chat completions with reasoning
// returned apart from the answer, thinking controls, n samples with a vote,
// stop strings, /v1/completions, /v1/models, /health and /metrics.
#include <gtest/gtest.h>

#include "server/server_fixture.h"

namespace s1test {
namespace {

using nlohmann::json;

class ChatApi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new TestServer(); }
  static void TearDownTestSuite() { delete server_; }
  static int port() { return server_->port(); }
  static TestServer* server_;
};
TestServer* ChatApi::server_ = nullptr;

json greedy(const std::string& text, int max_tokens) {
  return {{"model", "tiny"}, {"messages", user_message(text)}, {"max_tokens", max_tokens}, {"temperature", 0}};
}

TEST_F(ChatApi, ThinkingBudgetOpensTheBlockAndEndsItOnTime) {
  json body = greedy("What is 2+2?", 24);
  body["thinking"] = {{"max_tokens", 6}, {"answer_max_tokens", 5}};
  HttpResult r = post_json(port(), "/v1/chat/completions", body);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body["object"], "chat.completion");
  EXPECT_EQ(r.body["id"], r.request_id);
  EXPECT_EQ(r.body["model"], "tiny");
  ASSERT_EQ(r.body["choices"].size(), 1u);
  const json& choice = r.body["choices"][0];
  EXPECT_EQ(choice["index"], 0);
  EXPECT_EQ(choice["message"]["role"], "assistant");
  EXPECT_TRUE(choice["message"]["reasoning_content"].is_string());
  EXPECT_TRUE(choice["message"]["content"].is_string());
  // The budget opened the thinking block itself and closed it at 6 tokens.
  EXPECT_EQ(choice["thinking"]["tokens"], 6);
  EXPECT_EQ(choice["thinking"]["forced_end"], true);
  EXPECT_LE(choice["thinking"]["answer_tokens"].get<int>(), 5);
  EXPECT_EQ(choice["finish_reason"], "stop");
  const json& usage = r.body["usage"];
  EXPECT_EQ(usage["completion_tokens_details"]["reasoning_tokens"], 6);
  EXPECT_EQ(usage["completion_tokens"], 6 + choice["thinking"]["answer_tokens"].get<int>());
  EXPECT_GT(usage["prompt_tokens"].get<int>(), 0);
  EXPECT_EQ(usage["total_tokens"], usage["prompt_tokens"].get<int>() + usage["completion_tokens"].get<int>());
}

TEST_F(ChatApi, MaxTokensEndsWithLength) {
  json body = greedy("hi", 7);
  body["max_completion_tokens"] = 5;  // wins over max_tokens, as in OpenAI's API
  HttpResult r = post_json(port(), "/v1/chat/completions", body);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_LE(r.body["usage"]["completion_tokens"].get<int>(), 5);
}

TEST_F(ChatApi, MinimumThinkingAndWaitsHold) {
  json body = greedy("hi", 80);
  body["thinking"] = {{"min_tokens", 20}, {"max_tokens", 40}, {"wait", 1}, {"wait_text", "Hmm"},
                      {"answer_max_tokens", 4}};
  HttpResult r = post_json(port(), "/v1/chat/completions", body);
  ASSERT_EQ(r.status, 200) << r.body;
  const json& t = r.body["choices"][0]["thinking"];
  EXPECT_GE(t["tokens"].get<int>(), 20);
  EXPECT_LE(t["tokens"].get<int>(), 40);
  if (!t["forced_end"].get<bool>()) {
    EXPECT_GE(t["waits"].get<int>(), 1);
  }
}

TEST_F(ChatApi, ReasoningEffortIsAThinkingBudget) {
  json body = greedy("hi", 300);
  body["reasoning_effort"] = "low";  // 256 thinking tokens at most
  HttpResult r = post_json(port(), "/v1/chat/completions", body);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_LE(r.body["usage"]["completion_tokens_details"]["reasoning_tokens"].get<int>(), 256);
  body["reasoning_effort"] = "none";
  r = post_json(port(), "/v1/chat/completions", body);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body["usage"]["completion_tokens_details"]["reasoning_tokens"], 0);
}

TEST_F(ChatApi, SameSeedSameAnswer) {
  json body = {{"messages", user_message("hi")}, {"max_tokens", 16}, {"seed", 42}, {"temperature", 1.0}};
  HttpResult a = post_json(port(), "/v1/chat/completions", body);
  HttpResult b = post_json(port(), "/v1/chat/completions", body);
  ASSERT_EQ(a.status, 200);
  ASSERT_EQ(b.status, 200);
  EXPECT_EQ(a.body["choices"][0]["message"], b.body["choices"][0]["message"]);
  EXPECT_NE(a.body["id"], b.body["id"]);
}

TEST_F(ChatApi, SamplesWithAggregateReturnTheVoteAsChoiceZero) {
  json body = {{"messages", user_message("hi")}, {"max_tokens", 12}, {"n", 3}, {"seed", 1},
               {"aggregate", "majority"}, {"thinking", {{"max_tokens", 4}}}};
  HttpResult r = post_json(port(), "/v1/chat/completions", body);
  ASSERT_EQ(r.status, 200) << r.body;
  const json& choices = r.body["choices"];
  ASSERT_EQ(choices.size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(choices[i]["index"], i);
  const json& vote = choices[0]["vote"];
  EXPECT_EQ(vote["method"], "majority");
  EXPECT_EQ(vote["samples"], 3);
  ASSERT_TRUE(vote["winner"].is_number());
  const int winner = vote["winner"];
  ASSERT_GE(winner, 1);
  ASSERT_LE(winner, 3);
  EXPECT_EQ(choices[0]["message"], choices[winner]["message"]);
  int reasoning = 0;
  for (int i = 1; i < 4; ++i) reasoning += choices[i]["thinking"]["tokens"].get<int>();
  EXPECT_EQ(r.body["usage"]["completion_tokens_details"]["reasoning_tokens"], reasoning);

  // Without max_tokens the samples share what the cache holds.
  json unbounded = {{"messages", user_message("hi")}, {"n", 4}, {"aggregate", "best"},
                    {"thinking", {{"max_tokens", 4}, {"answer_max_tokens", 4}}}};
  HttpResult shared = post_json(port(), "/v1/chat/completions", unbounded);
  EXPECT_EQ(shared.status, 200) << shared.body;
  EXPECT_EQ(shared.body["choices"].size(), 5u);

  body.erase("aggregate");  // plain OpenAI n: one choice per sample
  r = post_json(port(), "/v1/chat/completions", body);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body["choices"].size(), 3u);
}

TEST_F(ChatApi, StopStringCutsTheAnswer) {
  HttpResult full = post_json(port(), "/v1/chat/completions", greedy("tell me", 48));
  ASSERT_EQ(full.status, 200);
  const std::string content = full.body["choices"][0]["message"]["content"];
  // A printable ASCII character of the greedy answer, after its start.
  size_t at = std::string::npos;
  for (size_t i = 1; i < content.size(); ++i)
    if (content[i] > ' ' && content[i] <= '~' && content.find(content[i]) == i) {
      at = i;
      break;
    }
  ASSERT_NE(at, std::string::npos) << "no printable ASCII in the greedy answer: " << content;
  json body = greedy("tell me", 48);
  body["stop"] = json::array({std::string(1, content[at]), "\x01never"});
  HttpResult cut = post_json(port(), "/v1/chat/completions", body);
  ASSERT_EQ(cut.status, 200);
  EXPECT_EQ(cut.body["choices"][0]["message"]["content"], content.substr(0, at));
  EXPECT_EQ(cut.body["choices"][0]["finish_reason"], "stop");
}

TEST_F(ChatApi, CompletionsEndpointTakesRawText) {
  json body = {{"prompt", "Once upon a time"}, {"max_tokens", 6}, {"temperature", 0}};
  HttpResult r = post_json(port(), "/v1/completions", body);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body["object"], "text_completion");
  EXPECT_TRUE(r.body["id"].get<std::string>().starts_with("cmpl-"));
  EXPECT_TRUE(r.body["choices"][0]["text"].is_string());
  EXPECT_LE(r.body["usage"]["completion_tokens"].get<int>(), 6);
}

TEST_F(ChatApi, ModelsHealthAndMetrics) {
  HttpResult models = get_json(port(), "/v1/models");
  ASSERT_EQ(models.status, 200);
  EXPECT_EQ(models.body["object"], "list");
  ASSERT_EQ(models.body["data"].size(), 1u);
  EXPECT_EQ(models.body["data"][0]["id"], "tiny");
  EXPECT_EQ(models.body["data"][0]["thinking_format"], "think");

  HttpResult health = get_json(port(), "/health");
  ASSERT_EQ(health.status, 200);
  EXPECT_EQ(health.body["status"], "ok");

  ASSERT_EQ(post_json(port(), "/v1/chat/completions", greedy("hi", 3)).status, 200);
  EXPECT_GE(metric(port(), "s1_requests_total{endpoint=\"/v1/chat/completions\",status=\"200\"}"), 1);
  EXPECT_GE(metric(port(), "s1_tokens_total{kind=\"completion\"}"), 3);
  EXPECT_GE(metric(port(), "s1_time_to_first_token_seconds_count"), 1);
  EXPECT_GE(metric(port(), "s1_request_duration_seconds_bucket{le=\"+Inf\"}"), 1);
  EXPECT_EQ(metric(port(), "s1_queue_depth"), 0);
}

TEST_F(ChatApi, IndexPageIsServed) {
  auto c = server_->client();
  auto r = c->Get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->get_header_value("Content-Type").find("text/html"), std::string::npos);
  EXPECT_NE(r->body.find("s1"), std::string::npos);
}

}  // namespace
}  // namespace s1test
