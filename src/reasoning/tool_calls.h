#pragma once
// Tool calls in a model's own syntax: which syntax a chat template teaches,
// splitting generated text (as it streams) into text and calls, the grammar
// that makes a call well-formed when one is required, and the tool list for
// templates that do not write it themselves.
//
// The syntaxes (detected from the template, see detect_tool_call_format):
//   hermes       <tool_call>{"name": N, "arguments": {...}}</tool_call>
//                Qwen2.5, Qwen3, QwQ, Hermes 2 Pro and the templates that copied them
//   qwen-xml     <tool_call><function=N><parameter=P>value</parameter></function></tool_call>
//                Qwen3.5 and Qwen3-Coder (string values raw, others JSON)
//   llama3-json  a bare {"name": N, "parameters": {...}}: Llama 3.1 / 3.2
//   deepseek-v3.1  <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>N<｜tool▁sep｜>{...}<｜tool▁call▁end｜>...<｜tool▁calls▁end｜>
//   deepseek-r1    the same block with `function<｜tool▁sep｜>N\n```json\n{...}\n```` per call
//   harmony      gpt-oss: a commentary message to=functions.N, `<|message|>{...}<|call|>`
// A template that teaches none of these has no format, and a request with
// tools is refused rather than served without.
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace s1 {

enum class ToolCallSyntax { hermes, qwen_xml, llama3_json, deepseek_v31, deepseek_r1, harmony };

struct ToolCallFormat {
  ToolCallSyntax syntax = ToolCallSyntax::hermes;
  std::string name;                // "hermes", "qwen-xml", ... (errors, docs, `s1 info`)
  std::vector<std::string> opens;  // texts that open a call (or a block of calls); none for bare JSON
  std::string close;               // the text that ends it
  std::string response_open;       // how a tool's result is shown to the model (the server's search tool)
  std::string response_close;
  // DeepSeek's templates show earlier calls and results but not the list of
  // tools: the server writes it into the system prompt (tool_list_prompt).
  bool template_lists_tools = true;
};

std::optional<ToolCallFormat> detect_tool_call_format(std::string_view chat_template);

struct ToolCall {
  std::string name;
  std::string arguments;  // JSON text of an object, as OpenAI's API carries it
  std::string text;       // the call as the model wrote it, markup included
};

// Splits text fed piece by piece: text outside calls comes back as content as
// soon as it cannot be the start of a call; a call comes back when its
// closing text arrives. A call that does not parse stays text (the model
// wrote something else). `tools` (OpenAI's tools array) gives the parameter
// types that qwen-xml's untyped values need; without it a value that parses
// as JSON is taken as such.
class ToolCallSplitter {
 public:
  explicit ToolCallSplitter(ToolCallFormat format, nlohmann::json tools = nlohmann::json::array())
      : format_(std::move(format)), tools_(std::move(tools)) {}

  struct Piece {
    std::string content;
    std::vector<ToolCall> calls;
  };
  Piece feed(std::string_view text);
  // The end of the text: held text (and an unclosed call) as content.
  Piece finish();
  bool in_call() const { return in_call_; }

 private:
  Piece feed_bare_json();
  std::vector<ToolCall> parse(std::string_view body) const;

  ToolCallFormat format_;
  nlohmann::json tools_;
  std::string pending_;  // held text: a possible opening, or a call's body so far
  std::string open_;     // the opening text of the call being read
  bool in_call_ = false;
};

// The search tool (the generator runs it itself, see SearchTool in
// generator.h) as a chat template shows it to the model: OpenAI's function
// shape, named "search", with one string parameter "query".
const nlohmann::json& search_tool_definition();

// GBNF for an answer made of calls only: one call (or several, with
// `parallel`, where the syntax has a way to write several) of `tools`
// (OpenAI's tools array, JSON text), or of the one named `only`. The
// arguments follow each function's parameter schema. s1::Error naming the
// tool when its schema cannot be enforced.
std::string tool_call_gbnf(const ToolCallFormat& format, std::string_view tools_json, const std::string& only,
                           bool parallel);

// For a template that does not list the tools (template_lists_tools false):
// the system-prompt text that shows them to the model and how to call them.
std::string tool_list_prompt(const ToolCallFormat& format, const nlohmann::json& tools);

}  // namespace s1
