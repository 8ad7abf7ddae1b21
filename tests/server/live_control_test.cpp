// Live control of requests in flight (answer_now, think_more), continuous
// batching (a request joins while another decodes) and cancellation when a
// streaming client disconnects.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "server/server_fixture.h"

namespace s1test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// A request that would think for 16000 tokens (many seconds on the tiny
// model) unless told otherwise.
json long_thinker() {
  return {{"messages", user_message("Think hard.")},
          {"max_tokens", 16100},
          {"thinking", {{"min_tokens", 16000}, {"max_tokens", 16000}, {"answer_max_tokens", 4}}},
          {"stream_options", {{"include_usage", true}}}};
}

bool wait_until(const std::function<bool()>& condition) {
  for (int i = 0; i < 200; ++i) {
    if (condition()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

json control_ok(int port, const std::string& id, const json& command) {
  HttpResult r = control(port, id, command);
  EXPECT_EQ(r.status, 200) << r.body;
  return r.body;
}

TEST(LiveControl, AnswerNowEndsTheThinkingOfARunningStream) {
  TestServer server;
  std::string id;
  bool sent = false;
  SseStream s = post_stream(server.port(), "/v1/chat/completions", long_thinker(), [&](const json& e) {
    if (id.empty()) id = e["id"];
    const auto& choices = e["choices"];
    if (!sent && !choices.empty() && choices[0].contains("delta") && choices[0]["delta"].contains("reasoning_content")) {
      EXPECT_EQ(control_ok(server.port(), id, {{"action", "answer_now"}})["status"], "accepted");
      sent = true;
    }
    return true;
  });
  ASSERT_EQ(s.status, 200);
  ASSERT_TRUE(sent);
  EXPECT_TRUE(s.done);
  EXPECT_EQ(s.request_id, id);
  const json& usage = s.events.back()["usage"];
  EXPECT_LT(usage["completion_tokens_details"]["reasoning_tokens"].get<int>(), 16000);
  EXPECT_EQ(s.events[s.events.size() - 2]["choices"][0]["finish_reason"], "stop");
}

// With one decode slot, a second request waits in the queue; control sent
// then reaches its samples as soon as they exist.
TEST(LiveControl, ControlOfAQueuedRequestAppliesWhenItStarts) {
  auto options = TestServer::defaults();
  options.parallel = 1;
  TestServer server(options);
  std::promise<std::string> first_id;
  bool promised = false;
  auto first = std::async(std::launch::async, [&] {
    return post_stream(server.port(), "/v1/chat/completions", long_thinker(), [&](const json& e) {
      if (!promised) first_id.set_value(e["id"]);
      promised = true;
      return true;
    });
  });
  const std::string blocker = first_id.get_future().get();

  json more = {{"messages", user_message("hi")}, {"max_tokens", 400}, {"temperature", 0},
               {"thinking", {{"max_tokens", 20}, {"answer_max_tokens", 2}}},
               {"stream_options", {{"include_usage", true}}}};
  std::promise<std::string> second_id;
  auto second = std::async(std::launch::async, [&] {
    bool told = false;
    return post_stream(server.port(), "/v1/chat/completions", more, [&](const json& e) {
      if (!told) second_id.set_value(e["id"]);
      told = true;
      return true;
    });
  });
  const std::string queued = second_id.get_future().get();
  EXPECT_TRUE(wait_until([&] { return get_json(server.port(), "/health").body["queued"] == 1; }));
  control_ok(server.port(), queued, {{"action", "think_more"}, {"tokens", 200}});
  control_ok(server.port(), blocker, {{"action", "answer_now"}});

  SseStream a = first.get(), b = second.get();
  EXPECT_TRUE(a.done);
  ASSERT_EQ(b.status, 200);
  ASSERT_TRUE(b.done);
  // think_more raised the minimum and the maximum to 200 more thinking tokens
  // (counted from when it reached the samples: after their first token).
  const int thought = b.events.back()["usage"]["completion_tokens_details"]["reasoning_tokens"];
  EXPECT_GE(thought, 200);
  EXPECT_LE(thought, 201);
  HttpResult check = post_json(server.port(), "/v1/chat/completions", more);
  EXPECT_EQ(check.body["choices"][0]["thinking"]["tokens"], 20);  // without control: the budget
}

// Ids are the capability to steer a request, so they are 96 random bits: two
// requests' ids share no salt or counter a client could step from.
TEST(LiveControl, RequestIdsAreUnguessable) {
  TestServer server;
  const json body = {{"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}, {"max_tokens", 2}};
  const std::string a = post_json(server.port(), "/v1/chat/completions", body).body["id"];
  const std::string b = post_json(server.port(), "/v1/chat/completions", body).body["id"];
  for (const std::string& id : {a, b}) {
    ASSERT_EQ(id.size(), std::string("chatcmpl-").size() + 24) << id;
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef", 9), std::string::npos) << id;
  }
  int same = 0;  // hex digits in the same place: ~1.5 of 24 by chance, 16+ with a salt and a counter
  for (size_t i = 9; i < a.size(); ++i) same += a[i] == b[i];
  EXPECT_LT(same, 12) << a << " " << b;
}

TEST(LiveControl, UnknownRequestOrBadCommandIsAnError) {
  TestServer server;
  HttpResult r = post_json(server.port(), "/v1/requests/chatcmpl-nope/control", json{{"action", "answer_now"}});
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body["error"]["code"], "request_not_found");
  r = post_json(server.port(), "/v1/requests/x/control", json{{"action", "explode"}});
  EXPECT_EQ(r.status, 400);
  r = post_json(server.port(), "/v1/requests/x/control", json{{"action", "think_more"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body["error"]["param"], "tokens");
}

// A rolling update's drain: the request in flight runs to its end, a new
// request on an open connection is 503 (and /health too), new connections are
// refused, and the server then stops by itself.
TEST(Drain, RequestsInFlightFinishAndNewOnesAreTurnedAway) {
  TestServer server;
  auto keep_alive = server.client();  // a connection opened before the drain
  keep_alive->set_keep_alive(true);
  ASSERT_EQ(keep_alive->Get("/health")->status, 200);
  json body = long_thinker();
  body["thinking"] = {{"min_tokens", 3000}, {"max_tokens", 3000}, {"answer_max_tokens", 4}};
  std::promise<void> started;
  bool told = false;
  auto running = std::async(std::launch::async, [&] {
    return post_stream(server.port(), "/v1/chat/completions", body, [&](const json&) {
      if (!told) started.set_value();
      told = true;
      return true;
    });
  });
  started.get_future().get();
  auto drained = std::async(std::launch::async, [&] { server.http().drain(); });
  EXPECT_TRUE(wait_until([&] {
    auto r = keep_alive->Get("/health");
    return r && r->status == 503;
  }));
  auto refused = keep_alive->Post("/v1/chat/completions", json{{"messages", user_message("x")}}.dump(),
                                  "application/json");
  if (refused) {  // (or the connection was already closed: equally a refusal)
    EXPECT_EQ(refused->status, 503);
    EXPECT_EQ(json::parse(refused->body)["error"]["code"], "server_draining");
  }
  SseStream s = running.get();
  EXPECT_TRUE(s.done);
  EXPECT_EQ(s.events.back()["usage"]["completion_tokens_details"]["reasoning_tokens"], 3000);
  EXPECT_EQ(drained.wait_for(30s), std::future_status::ready);
  EXPECT_EQ(get_json(server.port(), "/health").status, 0);  // no longer accepting
}

TEST(ContinuousBatching, AShortRequestFinishesWhileALongOneDecodes) {
  TestServer server;
  std::promise<std::string> long_id;
  bool told = false;
  auto long_request = std::async(std::launch::async, [&] {
    return post_stream(server.port(), "/v1/chat/completions", long_thinker(), [&](const json& e) {
      if (!told) long_id.set_value(e["id"]);
      told = true;
      return true;
    });
  });
  const std::string id = long_id.get_future().get();
  HttpResult shortie = post_json(server.port(), "/v1/chat/completions",
                                 json{{"messages", user_message("quick")}, {"max_tokens", 8}});
  ASSERT_EQ(shortie.status, 200);
  // The long request is still decoding: it was joined, not waited for.
  EXPECT_EQ(get_json(server.port(), "/health").body["active"], 1);
  EXPECT_EQ(long_request.wait_for(0s), std::future_status::timeout);
  control_ok(server.port(), id, {{"action", "answer_now"}});
  EXPECT_TRUE(long_request.get().done);
}

TEST(Cancellation, TheServerTimeoutEndsALongRequest) {
  auto options = TestServer::defaults();
  options.timeout_seconds = 1;
  TestServer server(options);
  json body = long_thinker();
  body.erase("stream_options");
  HttpResult r = post_json(server.port(), "/v1/chat/completions", body);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body["choices"][0]["finish_reason"], "length");
  EXPECT_LT(r.body["usage"]["completion_tokens_details"]["reasoning_tokens"].get<int>(), 16000);
  EXPECT_EQ(get_json(server.port(), "/health").body["active"], 0);
}

TEST(Cancellation, ADisconnectedStreamFreesItsSequence) {
  TestServer server;
  int seen = 0;
  SseStream s = post_stream(server.port(), "/v1/chat/completions", long_thinker(),
                            [&](const json&) { return ++seen < 5; });  // hang up after 5 events
  EXPECT_FALSE(s.done);
  // The server notices at its next write and cancels: nothing stays active,
  // long before the 16000 thinking tokens could have been generated.
  EXPECT_TRUE(wait_until([&] { return get_json(server.port(), "/health").body["active"] == 0; }));
  EXPECT_EQ(metric(server.port(), "s1_requests_cancelled_total"), 1);
  EXPECT_EQ(metric(server.port(), "s1_tokens_total{kind=\"completion\"}"), 0);
}

}  // namespace
}  // namespace s1test
