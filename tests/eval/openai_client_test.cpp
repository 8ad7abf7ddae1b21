// OpenAIClient against a tiny chat-completions server on 127.0.0.1.
#include "api/openai_client.h"

#include <gtest/gtest.h>

#include <atomic>

#include "loopback_server.h"

namespace {

using s1::OpenAIClient;
using s1test::LoopbackServer;

std::string completion(const std::string& content,
                       const nlohmann::json& extra_message = nlohmann::json::object()) {
  nlohmann::json message = {{"role", "assistant"}, {"content", content}};
  message.update(extra_message);
  return nlohmann::json{{"choices", {{{"index", 0}, {"message", message}, {"finish_reason", "stop"}}}},
                        {"usage",
                         {{"prompt_tokens", 11},
                          {"completion_tokens", 7},
                          {"completion_tokens_details", {{"reasoning_tokens", 5}}}}}}
      .dump();
}

s1::OpenAIClientOptions fast_options(const std::string& url) {
  return {.base_url = url, .api_key = "", .timeout_seconds = 5, .max_retries = 3, .backoff_seconds = 0.01};
}

TEST(OpenAIClient, PostsTheBodyWithKeyAndParsesTheReply) {
  nlohmann::json seen_body;
  std::string seen_auth;
  LoopbackServer server([&](const httplib::Request& req, httplib::Response& res) {
    seen_body = nlohmann::json::parse(req.body);
    seen_auth = req.get_header_value("Authorization");
    res.set_content(completion("<think>\nadd them\n</think>\n\nThe answer is 4."), "application/json");
  });
  auto options = fast_options(server.url());
  options.api_key = "sk-test";
  OpenAIClient client(options);
  EXPECT_EQ(client.url(), server.url() + "/v1/chat/completions");
  auto r = client.chat(
      {{"model", "m"}, {"messages", {{{"role", "user"}, {"content", "2+2?"}}}}, {"stream", true}});
  EXPECT_EQ(seen_auth, "Bearer sk-test");
  EXPECT_EQ(seen_body["model"], "m");
  EXPECT_EQ(seen_body["stream"], false);
  EXPECT_EQ(r.reasoning_content, "add them");
  EXPECT_EQ(r.content, "The answer is 4.");
  EXPECT_EQ(r.prompt_tokens, 11);
  EXPECT_EQ(r.completion_tokens, 7);
  EXPECT_EQ(r.reasoning_tokens, 5);
  EXPECT_EQ(r.finish_reason, "stop");
  EXPECT_EQ(r.raw["usage"]["prompt_tokens"], 11);
}

TEST(OpenAIClient, ReasoningContentFieldWins) {
  LoopbackServer server([](const httplib::Request&, httplib::Response& res) {
    res.set_content(completion("It is 4.", {{"reasoning_content", "2 and 2"}}), "application/json");
  });
  auto r = OpenAIClient(fast_options(server.url() + "/v1")).chat({{"messages", nlohmann::json::array()}});
  EXPECT_EQ(r.reasoning_content, "2 and 2");
  EXPECT_EQ(r.content, "It is 4.");
}

TEST(OpenAIClient, RetriesServerErrorsAndRateLimits) {
  std::atomic<int> calls{0};
  LoopbackServer server([&](const httplib::Request&, httplib::Response& res) {
    int call = calls++;
    if (call == 0)
      res.status = 503;
    else if (call == 1)
      res.status = 429;
    else
      res.set_content(completion("ok"), "application/json");
  });
  auto r = OpenAIClient(fast_options(server.url())).chat({{"messages", nlohmann::json::array()}});
  EXPECT_EQ(r.content, "ok");
  EXPECT_EQ(calls, 3);
}

TEST(OpenAIClient, GivesUpAfterTheLastTry) {
  std::atomic<int> calls{0};
  LoopbackServer server([&](const httplib::Request&, httplib::Response& res) {
    ++calls;
    res.status = 500;
    res.set_content("overloaded", "text/plain");
  });
  OpenAIClient client(fast_options(server.url()));
  try {
    client.chat({{"messages", nlohmann::json::array()}});
    FAIL() << "no error";
  } catch (const s1::HttpStatusError& e) {
    EXPECT_EQ(e.status(), 500);
    EXPECT_NE(std::string(e.what()).find(client.url()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("after 4 tries"), std::string::npos) << e.what();
  }
  EXPECT_EQ(calls, 4);
}

TEST(OpenAIClient, ClientErrorsAreNotRetried) {
  std::atomic<int> calls{0};
  LoopbackServer server([&](const httplib::Request&, httplib::Response& res) {
    ++calls;
    res.status = 400;
    res.set_content("{\"error\": \"unknown field think_max\"}", "application/json");
  });
  try {
    OpenAIClient(fast_options(server.url())).chat({{"think_max", 3}});
    FAIL() << "no error";
  } catch (const s1::HttpStatusError& e) {
    EXPECT_EQ(e.status(), 400);
    EXPECT_NE(std::string(e.what()).find("unknown field think_max"), std::string::npos) << e.what();
  }
  EXPECT_EQ(calls, 1);
}

TEST(OpenAIClient, UnreachableServerIsAnErrorNamingTheUrl) {
  std::string url;
  {
    LoopbackServer closed([](const httplib::Request&, httplib::Response&) {});
    url = closed.url();  // nothing listens there once it is gone
  }
  OpenAIClient client(fast_options(url));
  try {
    client.chat({{"messages", nlohmann::json::array()}});
    FAIL() << "no error";
  } catch (const s1::Error& e) {
    EXPECT_NE(std::string(e.what()).find(url + "/v1/chat/completions"), std::string::npos) << e.what();
  }
}

TEST(OpenAIClient, NotAChatCompletionIsAnError) {
  LoopbackServer server([](const httplib::Request&, httplib::Response& res) {
    res.set_content("{\"hello\": 1}", "application/json");
  });
  EXPECT_THROW(OpenAIClient(fast_options(server.url())).chat({}), s1::Error);
}

TEST(OpenAIClient, BadAddresses) {
  EXPECT_THROW(OpenAIClient(fast_options("ftp://x")), s1::Error);
  EXPECT_THROW(OpenAIClient(fast_options("http://")), s1::Error);
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
  EXPECT_EQ(OpenAIClient(fast_options("https://api.example.com/v1")).url(),
            "https://api.example.com/v1/chat/completions");
#else
  EXPECT_THROW(OpenAIClient(fast_options("https://api.example.com")), s1::Error);
#endif
  EXPECT_EQ(OpenAIClient(fast_options("http://h:1/x/chat/completions")).url(),
            "http://h:1/x/chat/completions");
}

TEST(OpenAIClient, ListsModels) {
  LoopbackServer server([](const httplib::Request&, httplib::Response&) {}, {"tiny", "other"});
  EXPECT_EQ(OpenAIClient(fast_options(server.url() + "/v1/")).list_models(),
            (std::vector<std::string>{"tiny", "other"}));
  LoopbackServer no_list([](const httplib::Request&, httplib::Response&) {});
  EXPECT_THROW(OpenAIClient(fast_options(no_list.url())).list_models(), s1::Error);
}

TEST(SplitThinking, Forms) {
  std::string thinking, answer;
  s1::split_thinking("plain answer", thinking, answer);
  EXPECT_EQ(thinking, "");
  EXPECT_EQ(answer, "plain answer");
  s1::split_thinking("already open</think>\nthe end", thinking, answer);  // R1 templates open the block
  EXPECT_EQ(thinking, "already open");
  EXPECT_EQ(answer, "the end");
  s1::split_thinking("<think>cut off mid", thinking, answer);
  EXPECT_EQ(thinking, "cut off mid");
  EXPECT_EQ(answer, "");
}

}  // namespace
