// Every malformed or refused request gets OpenAI's error shape with the right
// status, and the server keeps serving after each.
#include <gtest/gtest.h>

#include <future>

#include "server/server_fixture.h"
#include "util/error.h"

namespace s1test {
namespace {

using nlohmann::json;

void expect_error(const HttpResult& r, int status, const std::string& code, const std::string& param = "") {
  EXPECT_EQ(r.status, status) << r.body;
  ASSERT_TRUE(r.body.is_object()) << "status " << r.status;
  const json& e = r.body["error"];
  EXPECT_TRUE(e["message"].is_string()) << r.body;
  EXPECT_FALSE(e["message"].get<std::string>().empty());
  EXPECT_TRUE(e["type"].is_string());
  EXPECT_EQ(e["code"], code) << r.body;
  if (!param.empty()) {
    EXPECT_EQ(e["param"], param) << r.body;
  }
}

TEST(ServerErrors, BadRequestsGetOpenAiErrorsAndTheServerSurvives) {
  auto options = TestServer::defaults();
  options.ctx = 128;
  options.max_body_bytes = 4096;
  TestServer server(options);
  const int port = server.port();
  const std::string chat = "/v1/chat/completions";
  const json ok = {{"messages", user_message("hi")}, {"max_tokens", 2}};
  auto with = [&](const char* key, json value) {
    json body = ok;
    body[key] = std::move(value);
    return body;
  };

  expect_error(post_json(port, chat, std::string("{\"messages\": [")), 400, "invalid_json");
  expect_error(post_json(port, chat, std::string("[1, 2]")), 400, "invalid_type");
  expect_error(post_json(port, chat, std::string("{\"messages\":[{\"role\":\"user\",\"content\":\"\xc3\x28\"}]}")),
               400, "invalid_utf8");
  expect_error(post_json(port, chat, json{{"max_tokens", 2}}), 400, "missing_field", "messages");
  expect_error(post_json(port, chat, with("messages", "hi")), 400, "invalid_type", "messages");
  expect_error(post_json(port, chat, with("messages", json::array({{{"role", "robot"}, {"content", "x"}}}))), 400,
               "invalid_value", "messages[0].role");
  expect_error(post_json(port, chat, with("max_tokens", "ten")), 400, "invalid_type", "max_tokens");
  expect_error(post_json(port, chat, with("max_tokens", 0)), 400, "invalid_value", "max_tokens");
  expect_error(post_json(port, chat, with("temperature", 3.5)), 400, "invalid_value", "temperature");
  expect_error(post_json(port, chat, with("top_p", -0.1)), 400, "invalid_value", "top_p");
  expect_error(post_json(port, chat, with("n", 100)), 400, "invalid_value", "n");
  expect_error(post_json(port, chat, with("stream", "yes")), 400, "invalid_type", "stream");
  expect_error(post_json(port, chat, with("stop", json::array({1}))), 400, "invalid_type", "stop");
  expect_error(post_json(port, chat, with("aggregate", "loudest")), 400, "invalid_value", "aggregate");
  expect_error(post_json(port, chat, with("reasoning_effort", "extreme")), 400, "invalid_value", "reasoning_effort");
  expect_error(post_json(port, chat, with("thinking", json{{"min_tokens", 9}, {"max_tokens", 3}})), 400,
               "invalid_value", "thinking.min_tokens");
  expect_error(post_json(port, chat, with("thinking", json{{"wait", -1}})), 400, "invalid_value", "thinking.wait");
  expect_error(post_json(port, chat, with("thinking", 5)), 400, "invalid_type", "thinking");
  expect_error(post_json(port, chat, with("model", "gpt-4o")), 404, "model_not_found", "model");
  expect_error(post_json(port, chat, with("messages", user_message(std::string(400, 'x')))), 400,
               "context_length_exceeded", "messages");
  expect_error(post_json(port, chat, with("messages", user_message(std::string(8000, 'x')))), 413,
               "request_too_large");
  expect_error(post_json(port, "/v1/completions", json{{"prompt", 7}}), 400, "invalid_type", "prompt");
  expect_error(get_json(port, "/v1/nothing"), 404, "not_found");

  HttpResult fine = post_json(port, chat, ok);
  EXPECT_EQ(fine.status, 200) << fine.body;
  EXPECT_EQ(get_json(port, "/health").body["status"], "ok");
  EXPECT_GE(metric(port, "s1_requests_total{endpoint=\"/v1/chat/completions\",status=\"400\"}"), 15);
}

TEST(ServerErrors, ApiKeyIsRequiredWhenSet) {
  auto options = TestServer::defaults();
  options.api_key = "sekret";
  TestServer server(options);
  const json body = {{"messages", user_message("hi")}, {"max_tokens", 2}};
  expect_error(post_json(server.port(), "/v1/chat/completions", body.dump(), {}), 401, "invalid_api_key");
  expect_error(post_json(server.port(), "/v1/chat/completions", body.dump(), {{"Authorization", "Bearer nope"}}),
               401, "invalid_api_key");
  for (const char* wrong : {"Bearer sekret2", "Bearer sekre", "Bearersekret", "Basic sekret", "Bearer "})
    expect_error(post_json(server.port(), "/v1/chat/completions", body.dump(), {{"Authorization", wrong}}), 401,
                 "invalid_api_key");
  for (const char* right : {"Bearer sekret", "bearer sekret", "BEARER  sekret"}) {
    HttpResult r = post_json(server.port(), "/v1/chat/completions", body.dump(), {{"Authorization", right}});
    EXPECT_EQ(r.status, 200) << right << ": " << r.body;
  }
  EXPECT_EQ(get_json(server.port(), "/health").status, 200);  // health needs no key
}

TEST(ServerErrors, AFullQueueAnswers429WithRetryAfter) {
  auto options = TestServer::defaults();
  options.parallel = 1;
  options.queue = 0;
  TestServer server(options);
  std::promise<std::string> running;
  bool told = false;
  const json long_one = {{"messages", user_message("x")}, {"max_tokens", 16100},
                         {"thinking", {{"min_tokens", 16000}, {"max_tokens", 16000}}}};
  auto first = std::async(std::launch::async, [&] {
    return post_stream(server.port(), "/v1/chat/completions", long_one, [&](const json& e) {
      if (!told) running.set_value(e["id"]);
      told = true;
      return true;
    });
  });
  const std::string id = running.get_future().get();
  // The first job may still sit in the (zero-length) queue for a moment.
  HttpResult r;
  for (int i = 0; i < 100 && r.status != 429; ++i) {
    r = post_json(server.port(), "/v1/chat/completions", json{{"messages", user_message("y")}, {"max_tokens", 2}});
    if (r.status == 200) break;  // only possible if the slot was free
  }
  expect_error(r, 429, "server_busy");
  EXPECT_EQ(r.retry_after, "1");
  control(server.port(), id, json{{"action", "answer_now"}});
  EXPECT_TRUE(first.get().done);
}

TEST(ServerErrors, ABusyPortIsAClearError) {
  TestServer first;
  auto options = TestServer::defaults();
  options.port = first.port();
  s1::Engine engine(s1::server::engine_options_for(options, tiny_model(), 1));
  s1::server::HttpServer second(engine, options);
  try {
    second.bind();
    FAIL() << "bound a port in use";
  } catch (const s1::Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot listen"), std::string::npos) << e.what();
  }
}

TEST(ServerErrors, CorsHeadersWhenAnOriginIsAllowed) {
  auto options = TestServer::defaults();
  options.cors_origin = "http://example.test";
  TestServer server(options);
  auto c = server.client();
  auto preflight = c->Options("/v1/chat/completions");
  ASSERT_TRUE(preflight);
  EXPECT_EQ(preflight->status, 204);
  EXPECT_EQ(preflight->get_header_value("Access-Control-Allow-Origin"), "http://example.test");
  // The headers the browser asks for (the OpenAI SDK's x-stainless-*) are allowed.
  auto asked = c->Options("/v1/chat/completions",
                          {{"Access-Control-Request-Headers", "authorization, content-type, x-stainless-os"}});
  ASSERT_TRUE(asked);
  EXPECT_EQ(asked->get_header_value("Access-Control-Allow-Headers"), "authorization, content-type, x-stainless-os");
  auto models = c->Get("/v1/models");
  ASSERT_TRUE(models);
  EXPECT_EQ(models->get_header_value("Access-Control-Allow-Origin"), "http://example.test");
}

}  // namespace
}  // namespace s1test
