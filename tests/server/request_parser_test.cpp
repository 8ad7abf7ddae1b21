// Request bodies to ApiRequest: OpenAI's fields and s1's reasoning controls.
#include <gtest/gtest.h>

#include "server/api_error.h"
#include "server/request_parser.h"

namespace s1::server {
namespace {

TEST(RequestParser, ChatFieldsAndThinkingControls) {
  ApiRequest r = parse_chat_request(R"({
    "model": "m", "stream": true, "stream_options": {"include_usage": true}, "n": 3, "stop": "END",
    "max_tokens": 50, "temperature": 0.5, "top_p": 0.9, "seed": 7, "aggregate": "weighted",
    "messages": [{"role": "developer", "content": "be brief"},
                 {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
                 {"role": "assistant", "content": null}],
    "thinking": {"max_tokens": 100, "min_tokens": 10, "wait": 2, "wait_text": "Hmm", "answer_max_tokens": 20}})");
  EXPECT_EQ(r.model, "m");
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
  EXPECT_EQ(r.n, 3);
  EXPECT_EQ(r.stop, std::vector<std::string>{"END"});
  EXPECT_EQ(r.max_tokens, 50);
  EXPECT_FLOAT_EQ(r.sampling.temperature, 0.5f);
  EXPECT_FLOAT_EQ(r.sampling.top_p, 0.9f);
  EXPECT_EQ(r.sampling.seed, 7u);
  EXPECT_EQ(r.aggregate, VoteMethod::weighted);
  EXPECT_EQ(r.messages[0]["role"], "system");
  EXPECT_EQ(r.messages[1]["content"], "ab");
  EXPECT_EQ(r.messages[2]["content"], "");
  EXPECT_EQ(r.budget.think_max, 100);
  EXPECT_EQ(r.budget.think_min, 10);
  EXPECT_EQ(r.budget.wait, 2);
  EXPECT_EQ(r.budget.wait_text, "Hmm");
  EXPECT_EQ(r.budget.answer_max, 20);
}

TEST(RequestParser, ThinkingWinsOverReasoningEffortAndNullsAreDefaults) {
  ApiRequest r = parse_chat_request(
      R"({"messages": [{"role": "user", "content": "x"}], "reasoning_effort": "high", "thinking": {"max_tokens": 5},
          "temperature": null, "max_completion_tokens": 9, "max_tokens": 99})");
  EXPECT_EQ(r.budget.think_max, 5);
  EXPECT_FLOAT_EQ(r.sampling.temperature, SamplingParams{}.temperature);
  EXPECT_EQ(r.max_tokens, 9);
  EXPECT_EQ(parse_chat_request(R"({"messages": [{"role": "user", "content": "x"}], "reasoning_effort": "low"})")
                .budget.think_max,
            256);
}

// The chat template sees a request's chat_template_kwargs, and its
// reasoning_effort as gpt-oss's template reads it (besides the budget).
TEST(RequestParser, TemplateVariablesFromKwargsAndReasoningEffort) {
  ApiRequest r = parse_chat_request(
      R"({"messages": [{"role": "user", "content": "x"}], "reasoning_effort": "high",
          "chat_template_kwargs": {"enable_thinking": false, "reasoning_effort": "low"}})");
  EXPECT_EQ(r.template_vars, (nlohmann::json{{"enable_thinking", false}, {"reasoning_effort", "high"}}));
  EXPECT_EQ(r.budget.think_max, 4096);
  EXPECT_EQ(parse_chat_request(R"({"messages": [{"role": "user", "content": "x"}], "reasoning_effort": "none"})")
                .template_vars,
            nlohmann::json::object());
  EXPECT_THROW(parse_chat_request(R"({"messages": [{"role": "user", "content": "x"}], "chat_template_kwargs": [1]})"),
               ApiError);
  EXPECT_THROW(parse_completion_request(R"({"prompt": "x", "chat_template_kwargs": {}})"), ApiError);
}

TEST(RequestParser, CompletionPromptAndControlCommands) {
  EXPECT_EQ(parse_completion_request(R"({"prompt": ["once"]})").prompt, "once");
  EXPECT_THROW(parse_completion_request(R"({"prompt": ["a", "b"]})"), ApiError);
  EXPECT_THROW(parse_completion_request(R"({"prompt": ""})"), ApiError);
  EXPECT_EQ(parse_control_command(R"({"action": "answer_now"})").action, ControlCommand::Action::answer_now);
  ControlCommand more = parse_control_command(R"({"action": "think_more", "tokens": 64})");
  EXPECT_EQ(more.action, ControlCommand::Action::think_more);
  EXPECT_EQ(more.tokens, 64);
  EXPECT_THROW(parse_control_command(R"({"action": "think_more", "tokens": 0})"), ApiError);
}

TEST(RequestParser, ErrorsNameTheField) {
  try {
    parse_chat_request(R"({"messages": [{"role": "user", "content": 5}]})");
    FAIL();
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 400);
    EXPECT_EQ(e.param(), "messages[0].content");
    EXPECT_EQ(e.body()["error"]["type"], "invalid_request_error");
  }
  EXPECT_THROW(parse_chat_request(R"({"messages": [{"role": "user", "content": "x"}], "seed": 1.5})"), ApiError);
  EXPECT_THROW(parse_chat_request(R"({"messages": [{"role": "user", "content": "x"}], "stop": ["a","b","c","d","e"]})"),
               ApiError);
  EXPECT_THROW(parse_chat_request(R"({"messages": []})"), ApiError);
}

// What the server does not implement is refused, naming the field, never
// silently dropped; the do-nothing values OpenAI clients send are accepted.
TEST(RequestParser, UnknownAndUnsupportedFieldsAreRefused) {
  auto refusal = [](const std::string& body) -> std::pair<std::string, std::string> {
    try {
      parse_chat_request(body);
    } catch (const ApiError& e) {
      return {e.code(), e.param()};
    }
    return {"accepted", ""};
  };
  const std::string msgs = R"("messages": [{"role": "user", "content": "x"}])";
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(refusal("{" + msgs + R"(, "temprature": 0.5})"), (P{"unknown_parameter", "temprature"}));
  EXPECT_EQ(refusal("{" + msgs + R"(, "cache_prompt": true})"), (P{"unknown_parameter", "cache_prompt"}));
  EXPECT_EQ(refusal(R"({"messages": [{"role": "user", "content": "x", "colour": 1}]})"),
            (P{"unknown_parameter", "messages[0].colour"}));
  EXPECT_EQ(refusal("{" + msgs + R"(, "stream_options": {"include_usage": true, "x": 1}})"),
            (P{"unknown_parameter", "stream_options.x"}));
  EXPECT_EQ(refusal("{" + msgs + R"(, "thinking": {"max_token": 5}})"), (P{"unknown_parameter", "thinking.max_token"}));
  EXPECT_EQ(refusal("{" + msgs + R"(, "tools": [{"type": "function", "function": {"name": "f"}}]})"), (P{"accepted", ""}));
  EXPECT_EQ(refusal("{" + msgs + R"(, "tools": [{"type": "function", "function": {"name": "f", "parametrs": {}}}]})"),
            (P{"unknown_parameter", "tools[0].function.parametrs"}));
  EXPECT_EQ(refusal("{" + msgs + R"(, "tools": [{"type": "function", "function": {"name": "f g"}}]})"),
            (P{"invalid_value", "tools[0].function.name"}));
  EXPECT_EQ(refusal("{" + msgs + R"(, "tools": [{"type": "function", "function": {"name": "f"}},
              {"type": "function", "function": {"name": "f"}}]})"),
            (P{"invalid_value", "tools[1].function.name"}));
  EXPECT_EQ(refusal("{" + msgs + R"(, "tool_choice": "required"})"), (P{"invalid_value", "tool_choice"}));
  EXPECT_EQ(refusal("{" + msgs + R"(, "tools": [{"type": "function", "function": {"name": "f"}}],
              "tool_choice": {"type": "function", "function": {"name": "g"}}})"),
            (P{"invalid_value", "tool_choice.function.name"}));
  EXPECT_EQ(refusal(R"({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": null,
              "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"a\": 1}"}}]},
              {"role": "tool", "tool_call_id": "c1", "content": "42"}]})"),
            (P{"accepted", ""}));
  EXPECT_EQ(refusal(R"({"messages": [{"role": "assistant", "content": null, "tool_calls": [{"id": "c1",
              "type": "function", "function": {"name": "f", "arguments": "not json"}}]}]})"),
            (P{"invalid_value", "messages[0].tool_calls[0].function.arguments"}));
  EXPECT_EQ(refusal(R"({"messages": [{"role": "user", "content": "q", "tool_call_id": "c1"}]})"),
            (P{"invalid_value", "messages[0].tool_call_id"}));
  EXPECT_EQ(refusal("{" + msgs + R"(, "response_format": {"type": "json_object"}})"), (P{"accepted", ""}));
  EXPECT_EQ(refusal("{" + msgs + R"(, "response_format": {"type": "json_object", "schema": {}}})"),
            (P{"unknown_parameter", "response_format.schema"}));
  EXPECT_EQ(refusal("{" + msgs + R"(, "response_format": {"type": "json_schema", "json_schema": {"name": "n",
              "schema": {"type": "string", "pattern": "a"}}}})"),
            (P{"unsupported_schema", "response_format.json_schema.schema"}));
  EXPECT_EQ(refusal("{" + msgs + R"(, "response_format": {"type": "json_schema"}})"),
            (P{"missing_field", "response_format.json_schema"}));
  EXPECT_EQ(refusal("{" + msgs + R"(, "grammar": "root ::= ("})"), (P{"invalid_grammar", "grammar"}));
  EXPECT_EQ(refusal("{" + msgs + R"(, "grammar": "root ::= \"a\"", "json_schema": {"type": "integer"}})"),
            (P{"conflicting_parameters", "response_format"}));
  EXPECT_EQ(refusal("{" + msgs + R"(, "logprobs": true, "top_logprobs": 21})"), (P{"invalid_value", "top_logprobs"}));
  EXPECT_EQ(parse_chat_request("{" + msgs + R"(, "logprobs": true, "top_logprobs": 5})").logprobs, 5);
  EXPECT_EQ(parse_chat_request("{" + msgs + R"(, "logprobs": true})").logprobs, 0);
  EXPECT_EQ(parse_chat_request("{" + msgs + R"(, "logprobs": false})").logprobs, -1);
  EXPECT_EQ(parse_completion_request(R"({"prompt": "p", "logprobs": 3})").logprobs, 3);
  EXPECT_EQ(refusal("{" + msgs + R"(, "tools": [], "tool_choice": "none", "logprobs": false,
              "response_format": {"type": "text"}, "user": "u-1", "logit_bias": null})"),
            (P{"accepted", ""}));
  EXPECT_THROW(parse_completion_request(R"({"prompt": "x", "messages": []})"), ApiError);
  EXPECT_THROW(parse_control_command(R"({"action": "answer_now", "force": true})"), ApiError);
}

TEST(RequestParser, ResponseFormatBecomesTheAnswersGrammar) {
  const std::string msgs = R"("messages": [{"role": "user", "content": "x"}])";
  EXPECT_EQ(parse_chat_request("{" + msgs + "}").grammar, nullptr);
  EXPECT_EQ(parse_chat_request("{" + msgs + R"(, "response_format": {"type": "text"}})").grammar, nullptr);
  EXPECT_NE(parse_chat_request("{" + msgs + R"(, "response_format": {"type": "json_object"}})").grammar, nullptr);
  const ApiRequest r = parse_chat_request("{" + msgs + R"(, "response_format": {"type": "json_schema",
      "json_schema": {"name": "n", "strict": true, "schema": {"type": "object", "properties": {"b": {"type": "integer"},
      "a": {"type": "boolean"}}, "required": ["b", "a"], "additionalProperties": false}}}})");
  ASSERT_NE(r.grammar, nullptr);
  EXPECT_NE(parse_completion_request(R"({"prompt": "p", "grammar": "root ::= [0-9]+"})").grammar, nullptr);
  EXPECT_NE(parse_completion_request(R"({"prompt": "p", "json_schema": {"type": "integer"}})").grammar, nullptr);
}

TEST(RequestParser, AnthropicThinkingSpellingAndEarlierReasoning) {
  const std::string msgs = R"("messages": [{"role": "user", "content": "q"},
    {"role": "assistant", "content": "a", "reasoning_content": "because"}, {"role": "user", "content": "q2"}])";
  ApiRequest r = parse_chat_request("{" + msgs + R"(, "thinking": {"type": "enabled", "budget_tokens": 300}})");
  EXPECT_EQ(r.budget.think_max, 300);
  EXPECT_EQ(r.messages[1]["reasoning_content"], "because");
  EXPECT_EQ(parse_chat_request("{" + msgs + R"(, "thinking": {"type": "disabled"}})").budget.think_max, 0);
  EXPECT_THROW(parse_chat_request("{" + msgs + R"(, "thinking": {"type": "maybe"}})"), ApiError);
}

}  // namespace
}  // namespace s1::server

namespace s1::server {
namespace {

TEST(RequestParser, ThinkingStopIsAProbeRule) {
  const std::string msgs = R"("messages": [{"role": "user", "content": "q"}])";
  ApiRequest r = parse_chat_request("{" + msgs + R"(, "thinking": {"stop": "probe:3:16"}})");
  ASSERT_TRUE(r.budget.probe);
  EXPECT_EQ(r.budget.probe->agree, 3);
  EXPECT_EQ(r.budget.probe->every, 16);
  r = parse_chat_request("{" + msgs + R"(, "thinking": {"stop": {"type": "probe", "every": 8, "answer_max_tokens": 12}}})");
  ASSERT_TRUE(r.budget.probe);
  EXPECT_EQ(r.budget.probe->agree, 2);
  EXPECT_EQ(r.budget.probe->every, 8);
  EXPECT_EQ(r.budget.probe->answer_max, 12);
  EXPECT_FALSE(parse_chat_request("{" + msgs + R"(, "thinking": {"stop": "natural"}})").budget.probe);
  auto refusal = [&](const std::string& stop) -> std::string {
    try {
      parse_chat_request("{" + msgs + R"(, "thinking": {"stop": )" + stop + "}}");
    } catch (const ApiError& e) {
      EXPECT_EQ(e.status(), 400) << stop;
      return e.param();
    }
    return "accepted";
  };
  EXPECT_EQ(refusal(R"("probe:0")"), "thinking.stop");
  EXPECT_EQ(refusal(R"("soon")"), "thinking.stop");
  EXPECT_EQ(refusal("7"), "thinking.stop");
  EXPECT_EQ(refusal(R"({"type": "probe", "agree": 0})"), "thinking.stop.agree");
  EXPECT_EQ(refusal(R"({"type": "probe", "evry": 4})"), "thinking.stop.evry");
  EXPECT_EQ(refusal(R"({"type": "later"})"), "thinking.stop.type");
}

}  // namespace
}  // namespace s1::server
