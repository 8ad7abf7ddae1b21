#include "reasoning/tool_calls.h"

#include <fmt/format.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "sampling/json_schema.h"
#include "util/error.h"

namespace s1 {

namespace {

// DeepSeek's tool-call tokens.
constexpr std::string_view kCallsBegin = "<｜tool▁calls▁begin｜>", kCallsEnd = "<｜tool▁calls▁end｜>",
                           kCallBegin = "<｜tool▁call▁begin｜>", kCallEnd = "<｜tool▁call▁end｜>",
                           kCallSep = "<｜tool▁sep｜>";
// gpt-oss: a call is a commentary message whose recipient is functions.NAME,
// named in the channel line or in the role line, after the analysis message
// (<|end|>) or as the turn's first message (the prompt ends in <|start|>assistant).
constexpr std::string_view kHarmonyRecipient = "to=functions.";

ToolCallFormat tagged(ToolCallSyntax syntax, std::string name) {
  return ToolCallFormat{syntax, std::move(name), {"<tool_call>"}, "</tool_call>", "<tool_response>", "</tool_response>"};
}

}  // namespace

std::optional<ToolCallFormat> detect_tool_call_format(std::string_view chat_template) {
  auto has = [&](std::string_view text) { return chat_template.find(text) != std::string_view::npos; };
  if (has("<tool_call>") && has("<function=")) return tagged(ToolCallSyntax::qwen_xml, "qwen-xml");
  if (has("<tool_call>")) return tagged(ToolCallSyntax::hermes, "hermes");
  if (has("{\"name\": function name, \"parameters\""))
    return ToolCallFormat{ToolCallSyntax::llama3_json, "llama3-json", {}, "",
                          "<|eot_id|><|start_header_id|>ipython<|end_header_id|>\n\n",
                          "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"};
  if (has("<|call|>") && has("\"functions.\"")) {
    std::vector<std::string> opens;
    for (std::string_view before : {"<|end|><|start|>assistant", "<|start|>assistant", ""})
      for (std::string_view channel : {"<|channel|>commentary ", " "})
        opens.push_back(fmt::format("{}{}{}", before, channel, kHarmonyRecipient));
    return ToolCallFormat{ToolCallSyntax::harmony, "harmony", std::move(opens), "<|call|>",
                          "<|start|>functions.search to=assistant<|channel|>commentary<|message|>",
                          "<|end|><|start|>assistant"};
  }
  if (has(kCallsBegin)) {
    const bool r1 = has("```json");
    return ToolCallFormat{r1 ? ToolCallSyntax::deepseek_r1 : ToolCallSyntax::deepseek_v31,
                          r1 ? "deepseek-r1" : "deepseek-v3.1",
                          {std::string(kCallsBegin)},
                          std::string(kCallsEnd),
                          "<｜tool▁output▁begin｜>",
                          "<｜tool▁output▁end｜>",
                          /*template_lists_tools=*/has("tools")};
  }
  return std::nullopt;
}

namespace {

using json = nlohmann::json;

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
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

// Arguments as OpenAI carries them, from an object (or JSON text of one in a
// string, as some models write it); none when they are something else.
std::optional<std::string> arguments_text(const json& args) {
  if (args.is_null()) return "{}";
  if (args.is_object()) return args.dump();
  if (!args.is_string()) return std::nullopt;
  const auto inner = json::parse(args.get<std::string>(), nullptr, false);
  if (inner.is_discarded() || !inner.is_object()) return std::nullopt;
  return inner.dump();
}

// {"name": "...", "arguments": {...}} (Llama's key is "parameters").
std::optional<ToolCall> parse_json_call(std::string_view body) {
  const auto value = json::parse(trim(body), nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded() || !value.is_object()) return std::nullopt;
  const auto name = value.find("name");
  if (name == value.end() || !name->is_string() || name->get<std::string>().empty()) return std::nullopt;
  auto args = value.find("arguments");
  if (args == value.end()) args = value.find("parameters");
  const auto arguments = arguments_text(args == value.end() ? json() : *args);
  if (!arguments) return std::nullopt;
  return ToolCall{name->get<std::string>(), *arguments, ""};
}

// NAME then ARGS as a JSON object.
std::optional<ToolCall> named_call(std::string_view name, std::string_view args) {
  name = trim(name);
  const auto value = json::parse(trim(args), nullptr, false);
  if (name.empty() || value.is_discarded() || !value.is_object()) return std::nullopt;
  return ToolCall{std::string(name), value.dump(), ""};
}

// The text between `open` and `close` at or after `from`; `from` moves past it.
std::optional<std::string_view> between(std::string_view text, std::string_view open, std::string_view close,
                                        size_t& from) {
  const size_t start = text.find(open, from);
  if (start == std::string_view::npos) return std::nullopt;
  const size_t end = text.find(close, start + open.size());
  if (end == std::string_view::npos) return std::nullopt;
  from = end + close.size();
  return text.substr(start + open.size(), end - start - open.size());
}

// DeepSeek: one or more <｜tool▁call▁begin｜>...<｜tool▁call▁end｜>, each
// `NAME<｜tool▁sep｜>{...}` (V3.1) or `function<｜tool▁sep｜>NAME\n```json\n{...}\n```` (R1).
std::vector<ToolCall> parse_deepseek(std::string_view body) {
  std::vector<ToolCall> calls;
  size_t from = 0;
  while (auto call = between(body, kCallBegin, kCallEnd, from)) {
    const size_t sep = call->find(kCallSep);
    if (sep == std::string_view::npos) return {};
    const std::string_view head = call->substr(0, sep), rest = call->substr(sep + kCallSep.size());
    std::optional<ToolCall> parsed;
    if (trim(rest).substr(0, 1) == "{") {
      parsed = named_call(head, rest);
    } else if (size_t fence = 0; auto args = between(rest, "```json", "```", fence)) {
      parsed = named_call(rest.substr(0, rest.find('\n')), *args);
    }
    if (!parsed) return {};
    calls.push_back(std::move(*parsed));
  }
  if (!trim(body.substr(from)).empty()) return {};
  return calls;
}

// gpt-oss, after "to=functions.": `NAME <|constrain|>json<|message|>{...}` or
// `NAME<|channel|>commentary json<|message|>{...}`.
std::optional<ToolCall> parse_harmony(std::string_view body) {
  const size_t message = body.find("<|message|>");
  if (message == std::string_view::npos) return std::nullopt;
  const std::string_view name = body.substr(0, std::min(body.find_first_of(" <"), message));
  return named_call(name, body.substr(message + std::string_view("<|message|>").size()));
}

// The type a tool's parameter declares, when it is one plain string.
bool declared_string(const json& tools, const std::string& function, const std::string& parameter) {
  for (const json& tool : tools) {
    const json* f = tool.contains("function") ? &tool["function"] : nullptr;
    if (!f || f->value("name", "") != function || !f->contains("parameters")) continue;
    const json& properties = (*f)["parameters"].value("properties", json::object());
    return properties.contains(parameter) && properties[parameter].value("type", json()) == "string";
  }
  return false;
}

// Qwen3.5 / Qwen3-Coder: `<function=NAME>` then `<parameter=P>\nVALUE\n</parameter>`
// each, then `</function>`. A value is raw text for a string parameter and
// JSON otherwise (text that does not parse stays a string).
std::optional<ToolCall> parse_qwen_xml(std::string_view body, const json& tools) {
  size_t from = 0;
  const auto function = between(body, "<function=", ">", from);
  if (!function) return std::nullopt;
  const std::string name(trim(*function));
  constexpr std::string_view kFunctionEnd = "</function>";
  const size_t end = body.find(kFunctionEnd, from);
  if (name.empty() || end == std::string_view::npos || !trim(body.substr(end + kFunctionEnd.size())).empty())
    return std::nullopt;
  const std::string_view params = body.substr(from, end - from);
  json arguments = json::object();
  size_t at = 0;
  while (auto parameter = between(params, "<parameter=", "</parameter>", at)) {
    const size_t close = parameter->find('>');
    if (close == std::string_view::npos) return std::nullopt;
    const std::string key(trim(parameter->substr(0, close)));
    std::string_view value = parameter->substr(close + 1);
    if (value.substr(0, 1) == "\n") value.remove_prefix(1);
    if (value.size() && value.back() == '\n') value.remove_suffix(1);
    json parsed = declared_string(tools, name, key) ? json() : json::parse(value, nullptr, false);
    const bool raw = parsed.is_discarded() || (parsed.is_null() && value != "null");
    arguments[key] = raw ? json(std::string(value)) : parsed;
  }
  if (!trim(params.substr(at)).empty()) return std::nullopt;
  return ToolCall{name, arguments.dump(), ""};
}

}  // namespace

std::vector<ToolCall> ToolCallSplitter::parse(std::string_view body) const {
  std::optional<ToolCall> call;
  switch (format_.syntax) {
    case ToolCallSyntax::hermes:
    case ToolCallSyntax::llama3_json: call = parse_json_call(body); break;
    case ToolCallSyntax::qwen_xml: call = parse_qwen_xml(body, tools_); break;
    case ToolCallSyntax::harmony: call = parse_harmony(body); break;
    case ToolCallSyntax::deepseek_v31:
    case ToolCallSyntax::deepseek_r1: return parse_deepseek(body);
  }
  if (!call) return {};
  return {std::move(*call)};
}

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
    const std::string text = pending_.substr(0, end);
    pending_.erase(0, end);
    std::vector<ToolCall> calls = parse(text);
    if (calls.empty()) piece.content += text;
    for (ToolCall& call : calls) piece.calls.push_back({std::move(call.name), std::move(call.arguments), text});
  }
}

ToolCallSplitter::Piece ToolCallSplitter::feed(std::string_view text) {
  Piece piece;
  pending_ += text;
  if (format_.syntax == ToolCallSyntax::llama3_json) return feed_bare_json();
  for (;;) {
    if (!in_call_) {
      // The earliest opening; at one place the longest (one may end another).
      size_t at = std::string::npos;
      for (const std::string& open : format_.opens) {
        const size_t found = pending_.find(open);
        if (found == std::string::npos) continue;
        if (found < at || (found == at && open.size() > open_.size())) {
          at = found;
          open_ = open;
        }
      }
      if (at != std::string::npos) {
        piece.content += pending_.substr(0, at);
        pending_.erase(0, at + open_.size());
        in_call_ = true;
        continue;
      }
      // Hold a tail that may be the start of an opening.
      size_t hold = 0;
      for (const std::string& open : format_.opens)
        for (size_t n = std::min(pending_.size(), open.size() - 1); n > hold; --n)
          if (pending_.compare(pending_.size() - n, n, open, 0, n) == 0) {
            hold = n;
            break;
          }
      piece.content += pending_.substr(0, pending_.size() - hold);
      pending_.erase(0, pending_.size() - hold);
      return piece;
    }
    const size_t end = pending_.find(format_.close);
    if (end == std::string::npos) return piece;
    const std::string body = pending_.substr(0, end);
    const std::string whole = open_ + body + format_.close;
    pending_.erase(0, end + format_.close.size());
    in_call_ = false;
    std::vector<ToolCall> calls = parse(body);
    if (calls.empty()) piece.content += whole;
    for (ToolCall& call : calls) piece.calls.push_back({std::move(call.name), std::move(call.arguments), whole});
  }
}

ToolCallSplitter::Piece ToolCallSplitter::finish() {
  Piece piece;
  // gpt-oss's <|call|> ends the turn, so a text that ends inside a call
  // whose message is complete has ended it.
  std::vector<ToolCall> calls;
  if (in_call_ && format_.syntax == ToolCallSyntax::harmony) calls = parse(pending_);
  const std::string held = (in_call_ ? open_ : "") + pending_;
  if (calls.empty()) piece.content = held;
  for (ToolCall& call : calls) piece.calls.push_back({std::move(call.name), std::move(call.arguments), held});
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

namespace {

using ordered = nlohmann::ordered_json;

// The offered tools' parameter schemas in one document, {"$defs": ...,
// "tools": [parameters...]}: each tool's $defs move to the top, where its
// "#/$defs/..." references find them.
struct ToolSchemas {
  ordered document = ordered::object();
  std::vector<std::string> names;
};

ToolSchemas tool_schemas(std::string_view tools_json, const std::string& only) {
  ToolSchemas out;
  out.document["tools"] = ordered::array();
  for (const ordered& tool : ordered::parse(tools_json)) {
    const ordered& function = tool.at("function");
    const std::string name = function.at("name").get<std::string>();
    if (!only.empty() && name != only) continue;
    ordered parameters = function.contains("parameters") ? function.at("parameters")
                                                          : ordered{{"type", "object"}, {"properties", ordered::object()}};
    for (const char* section : {"$defs", "definitions"}) {
      if (!parameters.is_object() || !parameters.contains(section)) continue;
      for (const auto& [key, value] : parameters.at(section).items()) {
        if (out.document[section].contains(key))
          fail("tool '{}': its {} entry '{}' has the name of another tool's", name, section, key);
        out.document[section][key] = value;
      }
      parameters.erase(section);
    }
    out.document["tools"].push_back(std::move(parameters));
    out.names.push_back(name);
  }
  if (out.names.empty()) fail("no tool named '{}'", only);
  return out;
}

// Qwen's XML parameters of tool `i`, in the schema's order, the required ones
// always; string values (and enums of strings) as raw text that holds no
// closing tag, others as JSON.
std::string qwen_xml_parameters(const ToolSchemas& tools, size_t i,
                                std::vector<std::pair<std::string, std::string>>& json_rules) {
  const ordered& parameters = tools.document["tools"][i];
  if (!parameters.is_object() || !parameters.contains("properties")) return "";
  const ordered required = parameters.value("required", ordered::array());
  std::string body;
  size_t k = 0;
  for (const auto& [key, schema] : parameters.at("properties").items()) {
    std::string value;
    const ordered options = schema.is_object() ? schema.value("enum", ordered()) : ordered();
    const bool strings_only = options.is_array() && !options.empty() &&
                              std::all_of(options.begin(), options.end(), [](const ordered& v) { return v.is_string(); });
    if (strings_only) {
      for (const ordered& option : options) value += (value.empty() ? "(" : " | ") + gbnf_literal(option.get<std::string>());
      value += ")";
    } else if (schema.is_object() && schema.value("type", ordered()) == "string") {
      const ordered min = schema.value("minLength", ordered(0)), max = schema.value("maxLength", ordered(-1));
      if (!min.is_number_integer() || !max.is_number_integer() || min.get<int64_t>() < 0)
        fail("tool '{}': '{}' has a minLength or maxLength that is not a count", tools.names[i], key);
      value = max.get<int64_t>() < 0 ? fmt::format("xml-char{{{},}}", min.get<int64_t>())
                                     : fmt::format("xml-char{{{},{}}}", min.get<int64_t>(), max.get<int64_t>());
    } else {
      value = fmt::format("tool-{}-param-{}", i, k);
      std::string escaped;  // a JSON pointer's escapes
      for (char c : key) escaped += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
      json_rules.emplace_back(value, fmt::format("/tools/{}/properties/{}", i, escaped));
    }
    const bool needed = std::find(required.begin(), required.end(), key) != required.end();
    body += fmt::format(" ({} {} {}){}", gbnf_literal("<parameter=" + key + ">\n"), value,
                        gbnf_literal("\n</parameter>\n"), needed ? "" : "?");
    ++k;
  }
  return body;
}

}  // namespace

std::string tool_call_gbnf(const ToolCallFormat& format, std::string_view tools_json, const std::string& only,
                           bool parallel) {
  ToolSchemas tools = tool_schemas(tools_json, only);
  std::vector<std::pair<std::string, std::string>> json_rules;
  std::string alternatives;  // one per tool: its name and arguments in the syntax
  for (size_t i = 0; i < tools.names.size(); ++i) {
    const std::string& name = tools.names[i];
    const std::string args = fmt::format("tool-{}-args", i);
    std::string call;
    switch (format.syntax) {
      case ToolCallSyntax::hermes:
      case ToolCallSyntax::llama3_json: {
        const char* key = format.syntax == ToolCallSyntax::hermes ? "arguments" : "parameters";
        tools.document["calls"].push_back({{"type", "object"},
                                           {"properties", {{"name", {{"const", name}}}, {key, tools.document["tools"][i]}}},
                                           {"required", {"name", key}}});
        call = fmt::format("tool-{}-call", i);
        json_rules.emplace_back(call, fmt::format("/calls/{}", i));
        break;
      }
      case ToolCallSyntax::qwen_xml:
        call = gbnf_literal(name + ">\n") + qwen_xml_parameters(tools, i, json_rules);
        break;
      case ToolCallSyntax::deepseek_v31:
        call = gbnf_literal(name + std::string(kCallSep)) + " " + args;
        json_rules.emplace_back(args, fmt::format("/tools/{}", i));
        break;
      case ToolCallSyntax::deepseek_r1:
        call = gbnf_literal("function" + std::string(kCallSep) + name + "\n```json\n") + " " + args + " " +
               gbnf_literal("\n```");
        json_rules.emplace_back(args, fmt::format("/tools/{}", i));
        break;
      case ToolCallSyntax::harmony:
        call = gbnf_literal(name + "<|channel|>commentary json<|message|>") + " " + args;
        json_rules.emplace_back(args, fmt::format("/tools/{}", i));
        break;
    }
    alternatives += (i ? " | " : "") + ("(" + call + ")");
  }
  std::string json_part;
  try {
    json_part = json_schema_rules(tools.document.dump(), json_rules);
  } catch (const Error& e) {
    fail("the tools' parameters: {}", e.what());
  }
  auto repeat = [&](const std::string& call, const std::string& separator) {
    return parallel ? call + " (" + separator + call + ")*" : call;
  };
  std::string root;
  switch (format.syntax) {
    case ToolCallSyntax::llama3_json:  // one call: Llama has no way to write several
      root = "root ::= " + alternatives;
      break;
    case ToolCallSyntax::hermes:
      root = "call ::= " + gbnf_literal("<tool_call>\n") + " (" + alternatives + ") " + gbnf_literal("\n</tool_call>") +
             "\nroot ::= " + repeat("call", gbnf_literal("\n") + " ");
      break;
    case ToolCallSyntax::qwen_xml:
      root = "call ::= " + gbnf_literal("<tool_call>\n<function=") + " (" + alternatives + ") " +
             gbnf_literal("</function>\n</tool_call>") + "\nroot ::= " + repeat("call", gbnf_literal("\n") + " ") +
             "\nxml-char ::= [^<] | \"<\" [^/]";
      break;
    case ToolCallSyntax::deepseek_v31:
    case ToolCallSyntax::deepseek_r1:
      root = "call ::= " + gbnf_literal(std::string(kCallBegin)) + " (" + alternatives + ") " +
             gbnf_literal(std::string(kCallEnd)) + "\nroot ::= " + gbnf_literal(std::string(kCallsBegin)) + " " +
             repeat("call", "") + " " + gbnf_literal(std::string(kCallsEnd));
      break;
    case ToolCallSyntax::harmony:
      // After `<|start|>assistant`, in the form the template writes earlier
      // calls; one recipient per message, so one call. <|call|> ends the
      // turn, so it is the end of generation the grammar allows at the end.
      root = "root ::= " + gbnf_literal(" " + std::string(kHarmonyRecipient)) + " (" + alternatives + ")";
      break;
  }
  return root + "\n" + json_part;
}

std::string tool_list_prompt(const ToolCallFormat& format, const nlohmann::json& tools) {
  std::string out = "## Tools\nYou can use these tools:\n";
  for (const json& tool : tools) {
    const json& f = tool.at("function");
    out += fmt::format("\n### {}\nDescription: {}\n\nParameters: {}\n", f.at("name").get<std::string>(),
                       f.value("description", ""), f.value("parameters", json::object()).dump());
  }
  const std::string example =
      format.syntax == ToolCallSyntax::deepseek_r1
          ? fmt::format("{}{}function{}tool_name\n```json\n{{arguments}}\n```{}{}", kCallsBegin, kCallBegin, kCallSep,
                        kCallEnd, kCallsEnd)
          : fmt::format("{}{}tool_name{}{{arguments}}{}{}", kCallsBegin, kCallBegin, kCallSep, kCallEnd, kCallsEnd);
  return out + "\nTo call tools, write exactly:\n" + example +
         "\nwith tool_name one of the tools above and the arguments a JSON object that follows its Parameters; "
         "for several calls, repeat the part from " + std::string(kCallBegin) + " to " + std::string(kCallEnd) +
         " before the closing token.";
}

}  // namespace s1
