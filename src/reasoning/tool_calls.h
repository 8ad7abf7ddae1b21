#pragma once
// Tool calls in a model's own syntax: which syntax a chat template teaches,
// splitting an answer (as it streams) into text and calls, and the grammar
// that makes a call well-formed when one is required.
//
// Supported syntaxes: Hermes / Qwen's `<tool_call>\n{"name": ..., "arguments":
// {...}}\n</tool_call>` (Qwen2.5, Qwen3, QwQ, Qwen3.5, Hermes 2 Pro and the
// many templates that copied it), and Llama 3.1 / 3.2's bare JSON object
// `{"name": ..., "parameters": {...}}`. A template that teaches none of these
// has no format, and a request with tools is refused rather than served without.
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace s1 {

struct ToolCallFormat {
  std::string name;            // "hermes"
  std::string open;            // "<tool_call>"
  std::string close;           // "</tool_call>"
  std::string response_open;   // "<tool_response>": how a tool's result is shown to the model
  std::string response_close;  // "</tool_response>"
  // Llama's: a call is a bare JSON object (no tags), its arguments under "parameters".
  bool bare_json = false;
  std::string arguments_key = "arguments";
};

std::optional<ToolCallFormat> detect_tool_call_format(std::string_view chat_template);

struct ToolCall {
  std::string name;
  std::string arguments;  // JSON text of an object, as OpenAI's API carries it
};

// Splits answer text fed piece by piece: text outside calls comes back as
// content as soon as it cannot be the start of a call; a call comes back
// when its closing tag arrives. A call whose body is not a JSON object with a
// string "name" stays text (the model wrote something else).
class ToolCallSplitter {
 public:
  explicit ToolCallSplitter(ToolCallFormat format) : format_(std::move(format)) {}

  struct Piece {
    std::string content;
    std::vector<ToolCall> calls;
  };
  Piece feed(std::string_view text);
  // The end of the answer: held text (and an unclosed call) as content.
  Piece finish();

 private:
  Piece feed_bare_json();

  ToolCallFormat format_;
  std::string pending_;  // held text: a possible opening tag, or a call's body so far
  bool in_call_ = false;
};

// The search tool (the generator runs it itself, see SearchTool in
// generator.h) as a chat template shows it to the model: OpenAI's function
// shape, named "search", with one string parameter "query".
const nlohmann::json& search_tool_definition();

// GBNF for an answer made of calls only: one call (or several, with
// `parallel`) of `tools` (OpenAI's tools array, JSON text), or of the one
// named `only`. The arguments follow each function's parameter schema.
// s1::Error naming the tool when its schema cannot be enforced.
std::string tool_call_gbnf(const ToolCallFormat& format, std::string_view tools_json, const std::string& only,
                           bool parallel);

}  // namespace s1
