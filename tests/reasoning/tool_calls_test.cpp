// Tool calls in Hermes/Qwen syntax: detection from real templates, splitting
// an answer streamed in arbitrary pieces, and the grammar of a required call.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <memory>

#include "reasoning/tool_calls.h"
#include "sampling/grammar.h"
#include "support/test_support.h"
#include "util/error.h"

namespace s1 {
namespace {

const ToolCallFormat kHermes{"hermes", "<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>"};

// The answer fed in two pieces cut at `cut`, then finished: all its content and calls.
ToolCallSplitter::Piece split_at(const ToolCallFormat& format, const std::string& answer, size_t cut) {
  ToolCallSplitter splitter(format);
  ToolCallSplitter::Piece whole;
  for (const auto& piece : {splitter.feed(answer.substr(0, cut)), splitter.feed(answer.substr(cut)), splitter.finish()}) {
    whole.content += piece.content;
    whole.calls.insert(whole.calls.end(), piece.calls.begin(), piece.calls.end());
  }
  return whole;
}

TEST(ToolCalls, DetectedFromTheTemplatesThatTeachThem) {
  for (const char* name : {"Qwen-Qwen3-0.6B.jinja", "Qwen-Qwen2.5-7B-Instruct.jinja", "Qwen-QwQ-32B.jinja",
                           "NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja", "Qwen3.5-4B.jinja"}) {
    const auto format = detect_tool_call_format(s1test::read_file(s1test::shared_dir() / "templates" / name));
    ASSERT_TRUE(format) << name;
    EXPECT_EQ(format->name, "hermes") << name;
  }
  for (const char* name : {"meta-llama-Llama-3.1-8B-Instruct.jinja", "meta-llama-Llama-3.2-3B-Instruct.jinja"}) {
    const auto format = detect_tool_call_format(s1test::read_file(s1test::shared_dir() / "templates" / name));
    ASSERT_TRUE(format) << name;
    EXPECT_EQ(format->name, "llama3-json") << name;
  }
  EXPECT_FALSE(detect_tool_call_format(s1test::read_file(s1test::shared_dir() / "templates/deepseek-ai-DeepSeek-V3.1.jinja")))
      << "DeepSeek's tool-call tokens are not read yet";
}

TEST(ToolCalls, LlamasBareJsonCallsWhereverTheStreamIsCut) {
  const ToolCallFormat llama = *detect_tool_call_format(
      s1test::read_file(s1test::shared_dir() / "templates/meta-llama-Llama-3.1-8B-Instruct.jinja"));
  const std::string answer = R"(Sure. {"name": "get_weather", "parameters": {"city": "P{a}ris \"x\""}} and {"a": 1})";
  for (size_t cut = 0; cut <= answer.size(); ++cut) {
    const auto [content, calls] = split_at(llama, answer, cut);
    ASSERT_EQ(calls.size(), 1u) << cut;
    EXPECT_EQ(calls[0].name, "get_weather");
    EXPECT_EQ(nlohmann::json::parse(calls[0].arguments), nlohmann::json::parse(R"({"city": "P{a}ris \"x\""})"));
    EXPECT_EQ(content, R"(Sure.  and {"a": 1})") << cut;
  }
  const std::string gbnf = tool_call_gbnf(llama, R"([{"type": "function", "function": {"name": "f",
      "parameters": {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}}}])", "", true);
  EXPECT_EQ(gbnf.rfind("root ::= tool-call-body\n", 0), 0u);
  EXPECT_NE(gbnf.find("\"\\\"parameters\\\"\""), std::string::npos) << gbnf;
  EXPECT_NO_THROW(Grammar::parse(gbnf));
}

// Every way of cutting the answer into two pieces gives the same split.
TEST(ToolCalls, SplitterFindsCallsWhereverTheStreamIsCut) {
  const std::string answer =
      "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n"
      "<tool_call>{\"name\": \"get_time\", \"arguments\": \"{\\\"zone\\\": \\\"CET\\\"}\"}</tool_call> done <tool";
  for (size_t cut = 0; cut <= answer.size(); ++cut) {
    const auto [content, calls] = split_at(kHermes, answer, cut);
    ASSERT_EQ(calls.size(), 2u) << cut;
    EXPECT_EQ(calls[0].name, "get_weather");
    EXPECT_EQ(nlohmann::json::parse(calls[0].arguments), nlohmann::json::parse(R"({"city": "Paris"})"));
    EXPECT_EQ(calls[1].name, "get_time");
    EXPECT_EQ(nlohmann::json::parse(calls[1].arguments), nlohmann::json::parse(R"({"zone": "CET"})"));
    EXPECT_EQ(content, "Let me check.\n\n done <tool") << cut;
  }
}

TEST(ToolCalls, WhatIsNotACallStaysText) {
  ToolCallSplitter splitter(kHermes);
  const auto piece = splitter.feed("a <tool_call>not json</tool_call> b <tool_call>{\"arguments\": {}}</tool_call>");
  EXPECT_TRUE(piece.calls.empty());
  EXPECT_EQ(piece.content + splitter.finish().content,
            "a <tool_call>not json</tool_call> b <tool_call>{\"arguments\": {}}</tool_call>");
  ToolCallSplitter unclosed(kHermes);
  EXPECT_EQ(unclosed.feed("x <tool_call>{\"name\": \"f\"").content, "x ");
  EXPECT_EQ(unclosed.finish().content, "<tool_call>{\"name\": \"f\"");
}

TEST(ToolCalls, RequiredCallGrammarNamesTheToolsAndTheirSchemas) {
  const std::string tools = R"([
    {"type": "function", "function": {"name": "a", "parameters": {"type": "object", "properties": {"x": {"$ref": "#/$defs/X"}},
      "required": ["x"], "$defs": {"X": {"type": "integer"}}}}},
    {"type": "function", "function": {"name": "b"}}])";
  const std::string one = tool_call_gbnf(kHermes, tools, "a", false);
  EXPECT_NO_THROW(Grammar::parse(one));
  EXPECT_NE(one.find("\"\\\"a\\\"\""), std::string::npos);
  EXPECT_EQ(one.find("\"\\\"b\\\"\""), std::string::npos) << "only the named tool";
  EXPECT_NO_THROW(Grammar::parse(tool_call_gbnf(kHermes, tools, "", true)));
  EXPECT_THROW(tool_call_gbnf(kHermes, tools, "c", false), Error);
  const std::string clash = R"([
    {"type": "function", "function": {"name": "a", "parameters": {"$defs": {"X": {"type": "integer"}}}}},
    {"type": "function", "function": {"name": "b", "parameters": {"$defs": {"X": {"type": "string"}}}}}])";
  EXPECT_THROW(tool_call_gbnf(kHermes, clash, "", false), Error);
}

}  // namespace
}  // namespace s1
