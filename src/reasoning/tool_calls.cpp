#include "reasoning/tool_calls.h"

#include <nlohmann/json.hpp>

#include "sampling/json_schema.h"
#include "util/error.h"

namespace s1 {

std::optional<ToolCallFormat> detect_tool_call_format(std::string_view chat_template) {
  if (chat_template.find("<tool_call>") != std::string_view::npos)
    return ToolCallFormat{"hermes", "<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>"};
  if (chat_template.find("{\"name\": function name, \"parameters\"") != std::string_view::npos)
    return ToolCallFormat{.name = "llama3-json",
                          .response_open = "<|eot_id|><|start_header_id|>ipython<|end_header_id|>\n\n",
                          .response_close = "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
                          .bare_json = true,
                          .arguments_key = "parameters"};
  return std::nullopt;
}

namespace {

std::string trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return "";
  const auto last = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(first, last - first + 1));
}

// Where the JSON object starting at text[0] == '{' ends (one past its '}'),
// or npos while it is still open; braces inside strings do not count.
size_t json_object_end(std::string_view text) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{') {
      ++depth;
    } else if (c == '}' && --depth == 0) {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

// A call's body: {"name": "...", "arguments": {...}} (arguments may also be
// JSON text in a string, as some models write it; Llama's key is "parameters").
std::optional<ToolCall> parse_call(std::string_view body, const std::string& arguments_key) {
  const auto value = nlohmann::json::parse(trim(body), nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded() || !value.is_object()) return std::nullopt;
  const auto name = value.find("name");
  if (name == value.end() || !name->is_string() || name->get<std::string>().empty()) return std::nullopt;
  ToolCall call{name->get<std::string>(), "{}"};
  auto args = value.find(arguments_key);
  if (args == value.end()) args = value.find("arguments");
  if (args != value.end()) {
    if (args->is_object()) {
      call.arguments = args->dump();
    } else if (args->is_string()) {
      const auto inner = nlohmann::json::parse(args->get<std::string>(), nullptr, false);
      if (inner.is_discarded() || !inner.is_object()) return std::nullopt;
      call.arguments = inner.dump();
    } else if (!args->is_null()) {
      return std::nullopt;
    }
  }
  return call;
}

}  // namespace

// Llama's calls have no tags: text up to a '{' is content, an object from
// there is held until it closes, then it is a call or (not one) content.
ToolCallSplitter::Piece ToolCallSplitter::feed_bare_json() {
  Piece piece;
  for (;;) {
    const size_t start = pending_.find('{');
    if (start == std::string::npos) {
      piece.content += pending_;
      pending_.clear();
      return piece;
    }
    piece.content += pending_.substr(0, start);
    pending_.erase(0, start);
    const size_t end = json_object_end(pending_);
    if (end == std::string::npos) {
      in_call_ = true;
      return piece;
    }
    in_call_ = false;
    if (auto call = parse_call(std::string_view(pending_).substr(0, end), format_.arguments_key)) {
      piece.calls.push_back(std::move(*call));
    } else {
      piece.content += pending_.substr(0, end);
    }
    pending_.erase(0, end);
  }
}

ToolCallSplitter::Piece ToolCallSplitter::feed(std::string_view text) {
  Piece piece;
  pending_ += text;
  if (format_.bare_json) return feed_bare_json();
  for (;;) {
    if (!in_call_) {
      if (const size_t at = pending_.find(format_.open); at != std::string::npos) {
        piece.content += pending_.substr(0, at);
        pending_.erase(0, at + format_.open.size());
        in_call_ = true;
        continue;
      }
      // Hold a tail that may be the start of the opening tag.
      size_t hold = std::min(pending_.size(), format_.open.size() - 1);
      while (hold > 0 && pending_.compare(pending_.size() - hold, hold, format_.open, 0, hold) != 0) --hold;
      piece.content += pending_.substr(0, pending_.size() - hold);
      pending_.erase(0, pending_.size() - hold);
      return piece;
    }
    const size_t end = pending_.find(format_.close);
    if (end == std::string::npos) return piece;
    const std::string body = pending_.substr(0, end);
    pending_.erase(0, end + format_.close.size());
    in_call_ = false;
    if (auto call = parse_call(body, format_.arguments_key)) {
      piece.calls.push_back(std::move(*call));
    } else {
      piece.content += format_.open + body + format_.close;
    }
  }
}

ToolCallSplitter::Piece ToolCallSplitter::finish() {
  Piece piece;
  piece.content = (in_call_ && !format_.bare_json ? format_.open : "") + pending_;
  pending_.clear();
  in_call_ = false;
  return piece;
}

const nlohmann::json& search_tool_definition() {
  static const nlohmann::json tool = {
      {"type", "function"},
      {"function",
       {{"name", "search"},
        {"description", "Search the documents for passages about a topic; call it while you think, as often as it helps."},
        {"parameters",
         {{"type", "object"},
          {"properties", {{"query", {{"type", "string"}, {"description", "what to look for, in a few words"}}}}},
          {"required", {"query"}}}}}}};
  return tool;
}

std::string tool_call_gbnf(const ToolCallFormat& format, std::string_view tools_json, const std::string& only,
                           bool parallel) {
  using json = nlohmann::ordered_json;
  const json tools = json::parse(tools_json);
  // One schema for a call's body: {"name": one of the tools, "arguments": its
  // parameters}. Each tool's $defs move to the top, where its "#/$defs/..."
  // references find them.
  json options = json::array(), hoisted = json::object();
  for (const json& tool : tools) {
    const json& function = tool.at("function");
    const std::string name = function.at("name").get<std::string>();
    if (!only.empty() && name != only) continue;
    json parameters = function.contains("parameters") ? function.at("parameters")
                                                       : json{{"type", "object"}, {"properties", json::object()}};
    for (const char* section : {"$defs", "definitions"}) {
      if (!parameters.is_object() || !parameters.contains(section)) continue;
      for (const auto& [key, value] : parameters.at(section).items()) {
        if (hoisted[section].contains(key))
          fail("tool '{}': its {} entry '{}' has the name of another tool's", name, section, key);
        hoisted[section][key] = value;
      }
      parameters.erase(section);
    }
    options.push_back({{"type", "object"},
                       {"properties", {{"name", {{"const", name}}}, {format.arguments_key, std::move(parameters)}}},
                       {"required", {"name", format.arguments_key}}});
  }
  if (options.empty()) fail("no tool named '{}'", only);
  json schema = options.size() == 1 ? options[0] : json{{"anyOf", options}};
  for (const auto& [section, entries] : hoisted.items()) schema[section] = entries;
  std::string gbnf;
  try {
    gbnf = json_schema_to_gbnf(schema.dump(), "tool-call-body");
  } catch (const Error& e) {
    fail("the tools' parameters: {}", e.what());
  }
  if (format.bare_json) return "root ::= tool-call-body\n" + gbnf;  // one call: Llama has no way to write several
  const std::string call = gbnf_literal(format.open + "\n") + " tool-call-body " + gbnf_literal("\n" + format.close);
  return "root ::= " + call + (parallel ? " (" + gbnf_literal("\n") + " " + call + ")*" : "") + "\n" + gbnf;
}

}  // namespace s1
