// Tool calls in every syntax we read: detection from real templates, splitting
// text streamed in arbitrary pieces, and the grammar of a required call.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <regex>

#include "reasoning/tool_calls.h"
#include "sampling/grammar.h"
#include "support/grammar_support.h"
#include "support/test_support.h"
#include "tokenizer/chat_template.h"
#include "util/error.h"

namespace s1 {
namespace {

const ToolCallFormat kHermes = *detect_tool_call_format("{{ '<tool_call>' }}");

ToolCallFormat format_of(const std::string& template_name) {
  const auto format = detect_tool_call_format(s1test::read_file(s1test::shared_dir() / "templates" / template_name));
  if (!format) throw Error("no tool-call syntax in " + template_name);
  return *format;
}

// The answer fed in two pieces cut at `cut`, then finished: all its content and calls.
ToolCallSplitter::Piece split_at(const ToolCallFormat& format, const std::string& answer, size_t cut,
                                 const nlohmann::json& tools = nlohmann::json::array()) {
  ToolCallSplitter splitter(format, tools);
  ToolCallSplitter::Piece whole;
  for (const auto& piece : {splitter.feed(answer.substr(0, cut)), splitter.feed(answer.substr(cut)), splitter.finish()}) {
    whole.content += piece.content;
    whole.calls.insert(whole.calls.end(), piece.calls.begin(), piece.calls.end());
  }
  return whole;
}

TEST(ToolCalls, DetectedFromTheTemplatesThatTeachThem) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"Qwen-Qwen3-0.6B.jinja", "hermes"},
      {"Qwen-Qwen2.5-7B-Instruct.jinja", "hermes"},
      {"Qwen-QwQ-32B.jinja", "hermes"},
      {"NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja", "hermes"},
      {"Qwen3.5-4B.jinja", "qwen-xml"},
      {"Qwen3-Coder.jinja", "qwen-xml"},
      {"meta-llama-Llama-3.1-8B-Instruct.jinja", "llama3-json"},
      {"meta-llama-Llama-3.2-3B-Instruct.jinja", "llama3-json"},
      {"deepseek-ai-DeepSeek-V3.1.jinja", "deepseek-v3.1"},
      {"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", "deepseek-r1"},
      {"deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja", "deepseek-r1"},
      {"openai-gpt-oss-120b.jinja", "harmony"},
  };
  for (const auto& [name, syntax] : cases) EXPECT_EQ(format_of(name).name, syntax) << name;
  // DeepSeek's templates render earlier calls but not the tool list: the server writes it.
  EXPECT_FALSE(format_of("deepseek-ai-DeepSeek-V3.1.jinja").template_lists_tools);
  EXPECT_TRUE(format_of("Qwen3.5-4B.jinja").template_lists_tools);
  // V3.2's DSML markup is not read (a request with tools is refused).
  EXPECT_FALSE(detect_tool_call_format(s1test::read_file(s1test::shared_dir() / "templates/deepseek-ai-DeepSeek-V3.2.jinja")));
}

// The outside truth for each syntax is the model's own template: an earlier
// turn's call, rendered by it, is what the model was taught to write. The
// splitter must read it back wherever the stream is cut, and the grammar of a
// required call must accept it and refuse it with arguments off the schema.
TEST(ToolCalls, EveryTemplatesOwnCallIsReadBackAndFitsTheRequiredGrammar) {
  const nlohmann::json tools = nlohmann::json::parse(R"([{"type": "function", "function": {"name": "get_weather",
      "description": "Current weather", "parameters": {"type": "object", "properties": {
      "city": {"type": "string"}, "days": {"type": "integer"}}, "required": ["city"]}}}])");
  const nlohmann::json arguments = {{"city", "Paris"}, {"days", 3}};
  const nlohmann::json messages = {
      {{"role", "user"}, {"content", "Weather in Paris?"}},
      {{"role", "assistant"}, {"content", ""},
       {"tool_calls", {{{"id", "c1"}, {"type", "function"}, {"function", {{"name", "get_weather"}, {"arguments", arguments}}}}}}},
      {{"role", "tool"}, {"tool_call_id", "c1"}, {"content", "{\"temp\": 21}"}}};
  for (const char* name : {"Qwen-Qwen3-0.6B.jinja", "Qwen3.5-4B.jinja", "Qwen3-Coder.jinja",
                           "meta-llama-Llama-3.1-8B-Instruct.jinja", "deepseek-ai-DeepSeek-V3.1.jinja",
                           "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", "openai-gpt-oss-120b.jinja"}) {
    SCOPED_TRACE(name);
    const std::string source = s1test::read_file(s1test::shared_dir() / "templates" / name);
    const ToolCallFormat format = *detect_tool_call_format(source);
    const std::string rendered = ChatTemplate(source, name).render(messages, false, {{"tools", tools}});
    ToolCall last;
    for (size_t cut = 0; cut <= rendered.size(); cut += 7) {
      const auto [content, calls] = split_at(format, rendered, cut, tools);
      ASSERT_FALSE(calls.empty()) << cut << "\n" << rendered;
      last = calls.back();
      EXPECT_EQ(last.name, "get_weather") << cut;
      EXPECT_EQ(nlohmann::json::parse(last.arguments), arguments) << cut;
    }
    // gpt-oss's grammar starts after `<|start|>assistant` (where the analysis
    // ends) and its <|call|> is the end of generation, not text.
    std::string call = last.text;
    if (format.syntax == ToolCallSyntax::harmony) {
      ASSERT_NE(call.find("<|start|>assistant to=functions."), std::string::npos) << call;
      call = call.substr(call.find(" to=functions."));
      call.resize(call.size() - std::string("<|call|>").size());
    }
    const auto grammar = std::make_shared<const Grammar>(Grammar::parse(tool_call_gbnf(format, tools.dump(), "", true)));
    EXPECT_TRUE(s1test::grammar_accepts(grammar, call)) << call;
    EXPECT_TRUE(s1test::grammar_accepts(grammar, call, /*bytewise=*/true)) << call;
    EXPECT_FALSE(s1test::grammar_accepts(grammar, std::regex_replace(call, std::regex("3"), "x"))) << "days not an integer";
    EXPECT_FALSE(s1test::grammar_accepts(grammar, std::regex_replace(call, std::regex("city"), "town"))) << "no city";
  }
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
  EXPECT_EQ(gbnf.rfind("root ::= (tool-0-call)\n", 0), 0u) << gbnf;
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
