// The assembler's side of tool calls made while thinking: the call leaves the
// reasoning (streamed or whole), the reasoning before it stays, and the
// response carries the call with finish_reason "tool_calls".
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "server/completion_assembler.h"
#include "server/request_parser.h"

namespace s1::server {
namespace {

using nlohmann::json;

ApiRequest weather_request() {
  return parse_chat_request(R"({"messages": [{"role": "user", "content": "Weather in Paris?"}],
    "tools": [{"type": "function", "function": {"name": "get_weather",
      "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]})");
}

TEST(CompletionAssembler, ACallMadeWhileThinkingLeavesTheReasoning) {
  const ApiRequest api = weather_request();
  const auto format = detect_tool_call_format("<tool_call>");
  // Cut inside the opening tag and inside the body, as tokens would.
  const std::vector<std::string> pieces = {"Let me check. <tool", "_call>\n{\"name\": \"get_weather\", \"argu",
                                           "ments\": {\"city\": \"Paris\"}}\n</tool_call>"};
  CompletionAssembler streamed(api, "chatcmpl-1", "m", format, false, api.tools);
  std::string reasoning;
  json calls = json::array();
  for (const std::string& piece : pieces)
    for (const json& chunk : streamed.on_events({Event(EventKind::thinking_text, 0, piece)})) {
      const json& delta = chunk["choices"][0]["delta"];
      reasoning += delta.value("reasoning_content", "");
      for (const json& call : delta.value("tool_calls", json::array())) calls.push_back(call);
    }
  EXPECT_EQ(reasoning, "Let me check. ");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0]["function"]["name"], "get_weather");
  EXPECT_EQ(json::parse(calls[0]["function"]["arguments"].get<std::string>()), json({{"city", "Paris"}}));

  GenerationResult result;
  result.samples.emplace_back();
  result.samples[0].finish_reason = "tool_calls";
  const json closing = streamed.closing_chunks(result, false).at(0)["choices"][0];
  EXPECT_EQ(closing["finish_reason"], "tool_calls");

  CompletionAssembler whole(api, "chatcmpl-2", "m", format, false, api.tools);
  for (const std::string& piece : pieces) whole.on_events({Event(EventKind::thinking_text, 0, piece)});
  const json choice = whole.response(result, false)["choices"][0];
  EXPECT_EQ(choice["finish_reason"], "tool_calls");
  EXPECT_EQ(choice["message"]["reasoning_content"], "Let me check. ");
  EXPECT_TRUE(choice["message"]["content"].is_null());
  EXPECT_EQ(choice["message"]["tool_calls"][0]["function"]["name"], "get_weather");
}

// A call the token limit cut off is not a call: its text stays the answer.
TEST(CompletionAssembler, AnUnclosedCallStaysContent) {
  const ApiRequest api = weather_request();
  CompletionAssembler assembler(api, "chatcmpl-4", "m", detect_tool_call_format("<tool_call>"), false, api.tools);
  const std::string text = "ok <tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Par";
  assembler.on_events({Event(EventKind::answer_text, 0, text)});
  GenerationResult result;
  result.samples.emplace_back();
  result.samples[0].finish_reason = "length";
  const json choice = assembler.response(result, false)["choices"][0];
  EXPECT_EQ(choice["finish_reason"], "length");
  EXPECT_EQ(choice["message"]["content"], text);
}

// Without tools in the request, a call-like text in the thinking is thinking.
TEST(CompletionAssembler, WithoutToolsTheThinkingIsLeftAlone) {
  const ApiRequest api = parse_chat_request(R"({"messages": [{"role": "user", "content": "x"}]})");
  CompletionAssembler assembler(api, "chatcmpl-3", "m", std::nullopt);
  const std::string text = "<tool_call>{\"name\": \"f\"}</tool_call>";
  assembler.on_events({Event(EventKind::thinking_text, 0, text)});
  GenerationResult result;
  result.samples.emplace_back();
  result.samples[0].finish_reason = "stop";
  EXPECT_EQ(assembler.response(result, false)["choices"][0]["message"]["reasoning_content"], text);
}

}  // namespace
}  // namespace s1::server
