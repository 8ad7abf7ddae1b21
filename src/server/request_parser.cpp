#include "server/request_parser.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <limits>

#include "sampling/json_schema.h"
#include "server/api_error.h"
#include "tokenizer/utf8.h"
#include "util/error.h"

namespace s1::server {
namespace {

using nlohmann::json;

constexpr size_t kMaxStopBytes = 256;
constexpr size_t kMaxWaitTextBytes = 256;
constexpr int kMaxTokenLimit = 1 << 20;

json parse_object(std::string_view body) {
  if (utf8_valid_prefix(body) != body.size()) bad_request("", "the request body is not valid UTF-8", "invalid_utf8");
  json value = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) bad_request("", "the request body is not valid JSON", "invalid_json");
  if (!value.is_object()) bad_request("", "the request body must be a JSON object", "invalid_type");
  return value;
}

const char* type_name(const json& v) { return v.type_name(); }

// OpenAI fields this server does not implement yet. A request that uses one
// (with more than its do-nothing value) is refused, never silently served
// without it: a client asking for JSON output must not get free text.
bool is_default_value(const json& v) {
  return v.is_null() || (v.is_boolean() && !v.get<bool>()) || (v.is_array() && v.empty()) ||
         (v.is_string() && v.get<std::string>() == "none") ||
         (v.is_object() && v.size() == 1 && v.value("type", "") == "text");
}

constexpr std::string_view kUnsupported[] = {
    "functions", "function_call", "logit_bias", "echo", "best_of", "suffix", "audio", "modalities",
    "prediction", "web_search_options"};

// The request fields both endpoints read (parse_common).
constexpr std::string_view kCommonFields[] = {
    "model", "stream", "stream_options", "n", "stop", "max_tokens", "max_completion_tokens", "temperature",
    "top_p", "min_p", "top_k", "presence_penalty", "frequency_penalty", "seed", "reasoning_effort", "thinking",
    "aggregate", "user", "response_format", "grammar", "json_schema"};

// Every field of `object` must be one of `known` (or of kCommonFields with
// `common`), or an unsupported one at its default: an unknown field is a 400
// naming it, as a misspelled option would be.
void check_fields(const json& object, const std::string& prefix, std::initializer_list<std::string_view> known,
                  bool common = false) {
  for (const auto& [key, value] : object.items()) {
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    if (common && std::find(std::begin(kCommonFields), std::end(kCommonFields), key) != std::end(kCommonFields))
      continue;
    const std::string param = prefix + key;
    if (prefix.empty() && std::find(std::begin(kUnsupported), std::end(kUnsupported), key) != std::end(kUnsupported)) {
      if (is_default_value(value)) continue;
      bad_request(param, "'" + param + "' is not supported by this server yet (see docs/server.md)",
                  "unsupported_parameter");
    }
    bad_request(param, "unknown field '" + param + "'", "unknown_parameter");
  }
}


[[noreturn]] void wrong_type(const std::string& param, const char* expected, const json& v) {
  bad_request(param, "'" + param + "' must be " + expected + ", got " + type_name(v), "invalid_type");
}

// Fields that are absent or null take their default.
const json* field(const json& object, const char* key) {
  auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

std::optional<int64_t> get_int(const json& object, const char* key, const std::string& param, int64_t lo,
                               int64_t hi) {
  const json* v = field(object, key);
  if (!v) return std::nullopt;
  int64_t value = 0;
  if (v->is_number_integer()) {
    if (v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max()))
      value = std::numeric_limits<int64_t>::max();
    else
      value = v->get<int64_t>();
  } else if (v->is_number_float() && std::isfinite(v->get<double>()) && std::floor(v->get<double>()) == v->get<double>() &&
             std::fabs(v->get<double>()) < 9e18) {
    value = int64_t(v->get<double>());
  } else {
    wrong_type(param, "an integer", *v);
  }
  if (value < lo || value > hi)
    bad_request(param, "'" + param + "' must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                           ", got " + std::to_string(value));
  return value;
}

std::optional<double> get_number(const json& object, const char* key, double lo, double hi) {
  const json* v = field(object, key);
  if (!v) return std::nullopt;
  if (!v->is_number()) wrong_type(key, "a number", *v);
  const double value = v->get<double>();
  if (!(value >= lo && value <= hi))
    bad_request(key, fmt::format("'{}' must be between {} and {}, got {}", key, lo, hi, value));
  return value;
}

std::optional<bool> get_bool(const json& object, const char* key, const std::string& param) {
  const json* v = field(object, key);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) wrong_type(param, "a boolean", *v);
  return v->get<bool>();
}

std::optional<std::string> get_string(const json& object, const char* key, const std::string& param) {
  const json* v = field(object, key);
  if (!v) return std::nullopt;
  if (!v->is_string()) wrong_type(param, "a string", *v);
  return v->get<std::string>();
}

// A message's content: a string, or an array of {"type": "text", "text": ...} parts.
std::string message_text(const json& content, const std::string& param) {
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array()) wrong_type(param, "a string or an array of text parts", content);
  std::string text;
  for (size_t i = 0; i < content.size(); ++i) {
    const std::string part_param = param + "[" + std::to_string(i) + "]";
    const json& part = content[i];
    if (!part.is_object()) wrong_type(part_param, "an object", part);
    auto type = get_string(part, "type", part_param + ".type");
    if (type != "text") bad_request(part_param + ".type", "only text content parts are supported");
    auto part_text = get_string(part, "text", part_param + ".text");
    if (!part_text) bad_request(part_param + ".text", "'" + part_param + ".text' is required", "missing_field");
    text += *part_text;
  }
  return text;
}

// An earlier assistant turn's calls. Templates read the arguments as an
// object (`arguments | tojson`), as llama.cpp hands them over, so JSON text
// is parsed; anything else is refused.
json parse_message_tool_calls(const json& calls, const std::string& param) {
  if (!calls.is_array()) wrong_type(param, "an array", calls);
  json out = json::array();
  for (size_t i = 0; i < calls.size(); ++i) {
    const std::string p = param + "[" + std::to_string(i) + "]";
    const json& call = calls[i];
    if (!call.is_object()) wrong_type(p, "an object", call);
    check_fields(call, p + ".", {"id", "type", "function"});
    const json* function = field(call, "function");
    if (!function || !function->is_object()) bad_request(p + ".function", "'" + p + ".function' must be an object");
    check_fields(*function, p + ".function.", {"name", "arguments"});
    auto name = get_string(*function, "name", p + ".function.name");
    if (!name) bad_request(p + ".function.name", "'" + p + ".function.name' is required", "missing_field");
    json arguments = json::object();
    if (auto text = get_string(*function, "arguments", p + ".function.arguments")) {
      arguments = json::parse(*text, nullptr, false);
      if (arguments.is_discarded() || !arguments.is_object())
        bad_request(p + ".function.arguments", "'" + p + ".function.arguments' must be a JSON object in a string");
    }
    json entry = {{"type", "function"}, {"function", {{"name", *name}, {"arguments", arguments}}}};
    if (auto id = get_string(call, "id", p + ".id")) entry["id"] = *id;
    out.push_back(std::move(entry));
  }
  return out;
}

json parse_messages(const json& body) {
  const json* messages = field(body, "messages");
  if (!messages) bad_request("messages", "'messages' is required", "missing_field");
  if (!messages->is_array()) wrong_type("messages", "an array", *messages);
  if (messages->empty()) bad_request("messages", "'messages' must hold at least one message");
  json out = json::array();
  for (size_t i = 0; i < messages->size(); ++i) {
    const std::string param = "messages[" + std::to_string(i) + "]";
    const json& m = (*messages)[i];
    if (!m.is_object()) wrong_type(param, "an object", m);
    check_fields(m, param + ".", {"role", "content", "name", "reasoning_content", "tool_calls", "tool_call_id"});
    auto role = get_string(m, "role", param + ".role");
    if (!role) bad_request(param + ".role", "'" + param + ".role' is required", "missing_field");
    if (*role == "developer") role = "system";
    if (*role != "system" && *role != "user" && *role != "assistant" && *role != "tool")
      bad_request(param + ".role", "'" + param + ".role' must be system, developer, user, assistant or tool, got '" +
                                       *role + "'");
    const json* content = field(m, "content");
    if (!content && *role != "assistant")
      bad_request(param + ".content", "'" + param + ".content' is required", "missing_field");
    json message = {{"role", *role}, {"content", content ? message_text(*content, param + ".content") : ""}};
    if (const json* calls = field(m, "tool_calls")) {
      if (*role != "assistant") bad_request(param + ".tool_calls", "only an assistant message has 'tool_calls'");
      message["tool_calls"] = parse_message_tool_calls(*calls, param + ".tool_calls");
    }
    if (auto call_id = get_string(m, "tool_call_id", param + ".tool_call_id")) {
      if (*role != "tool") bad_request(param + ".tool_call_id", "only a tool message has 'tool_call_id'");
      message["tool_call_id"] = *call_id;
    }
    // The thinking of an earlier assistant turn: the template decides whether it is shown.
    if (auto reasoning = get_string(m, "reasoning_content", param + ".reasoning_content"))
      message["reasoning_content"] = *reasoning;
    out.push_back(std::move(message));
  }
  return out;
}

std::vector<std::string> parse_stop(const json& body) {
  const json* stop = field(body, "stop");
  if (!stop) return {};
  std::vector<std::string> out;
  if (stop->is_string()) {
    out.push_back(stop->get<std::string>());
  } else if (stop->is_array()) {
    if (stop->size() > size_t(kMaxStopStrings))
      bad_request("stop", fmt::format("'stop' holds at most {} strings", kMaxStopStrings));
    for (const json& s : *stop) {
      if (!s.is_string()) wrong_type("stop", "a string or an array of strings", s);
      out.push_back(s.get<std::string>());
    }
  } else {
    wrong_type("stop", "a string or an array of strings", *stop);
  }
  for (const auto& s : out)
    if (s.empty() || s.size() > kMaxStopBytes)
      bad_request("stop", fmt::format("each stop string must hold 1 to {} bytes", kMaxStopBytes));
  return out;
}

// "probe:2:32" (as --think-stop), or {"type": "probe"|"natural", "agree": K,
// "every": N, "answer_max_tokens": M}.
std::optional<ProbeStop> parse_stop_rule(const json& stop) {
  if (stop.is_string()) {
    try {
      return parse_think_stop(stop.get<std::string>(), "thinking.stop");
    } catch (const Error& e) {
      bad_request("thinking.stop", e.what());
    }
  }
  if (!stop.is_object()) wrong_type("thinking.stop", "a string or an object", stop);
  check_fields(stop, "thinking.stop.", {"type", "agree", "every", "answer_max_tokens"});
  const auto type = get_string(stop, "type", "thinking.stop.type");
  if (!type) bad_request("thinking.stop.type", "'thinking.stop.type' is required (probe or natural)", "missing_field");
  if (*type == "natural") return std::nullopt;
  if (*type != "probe")
    bad_request("thinking.stop.type", "'thinking.stop.type' must be probe or natural, got '" + *type + "'");
  ProbeStop rule;
  if (auto v = get_int(stop, "agree", "thinking.stop.agree", 1, 64)) rule.agree = int(*v);
  if (auto v = get_int(stop, "every", "thinking.stop.every", 1, kMaxTokenLimit)) rule.every = int(*v);
  if (auto v = get_int(stop, "answer_max_tokens", "thinking.stop.answer_max_tokens", 1, 256))
    rule.answer_max = int(*v);
  return rule;
}

void parse_thinking(const json& body, ApiRequest& r) {
  if (auto effort = get_string(body, "reasoning_effort", "reasoning_effort")) r.budget.think_max = effort_budget(*effort);
  const json* thinking = field(body, "thinking");
  if (!thinking) return;
  if (!thinking->is_object()) wrong_type("thinking", "an object", *thinking);
  check_fields(*thinking, "thinking.",
               {"max_tokens", "min_tokens", "wait", "wait_text", "answer_max_tokens", "type", "budget_tokens",
                "stop"});
  // Anthropic's and DeepSeek's spelling: {"type": "enabled", "budget_tokens": N} or {"type": "disabled"}.
  if (auto type = get_string(*thinking, "type", "thinking.type")) {
    if (*type == "disabled") r.budget.think_max = 0;
    else if (*type != "enabled")
      bad_request("thinking.type", "'thinking.type' must be enabled or disabled, got '" + *type + "'");
  }
  if (auto v = get_int(*thinking, "budget_tokens", "thinking.budget_tokens", 0, kMaxTokenLimit)) r.budget.think_max = int(*v);
  if (auto v = get_int(*thinking, "max_tokens", "thinking.max_tokens", 0, kMaxTokenLimit)) r.budget.think_max = int(*v);
  if (auto v = get_int(*thinking, "min_tokens", "thinking.min_tokens", 0, kMaxTokenLimit)) r.budget.think_min = int(*v);
  if (auto v = get_int(*thinking, "wait", "thinking.wait", 0, 64)) r.budget.wait = int(*v);
  if (auto v = get_string(*thinking, "wait_text", "thinking.wait_text")) {
    if (v->empty() || v->size() > kMaxWaitTextBytes)
      bad_request("thinking.wait_text", fmt::format("'thinking.wait_text' must hold 1 to {} bytes", kMaxWaitTextBytes));
    r.budget.wait_text = *v;
  }
  if (auto v = get_int(*thinking, "answer_max_tokens", "thinking.answer_max_tokens", 1, kMaxTokenLimit))
    r.budget.answer_max = int(*v);
  if (const json* stop = field(*thinking, "stop")) r.budget.probe = parse_stop_rule(*stop);
  if (r.budget.think_max && r.budget.think_min > *r.budget.think_max)
    bad_request("thinking.min_tokens", fmt::format("'thinking.min_tokens' ({}) is above 'thinking.max_tokens' ({})",
                                                   r.budget.think_min, *r.budget.think_max));
}

// The fields both endpoints share.
// A schema as the request wrote it: nlohmann::json keeps keys sorted, and a
// schema's property order is the order the answer writes them in.
std::string schema_text(std::string_view text, std::initializer_list<const char*> path) {
  auto ordered = nlohmann::ordered_json::parse(text.begin(), text.end());
  const nlohmann::ordered_json* at = &ordered;
  for (const char* key : path) at = &at->at(key);
  return at->dump();
}

std::shared_ptr<const Grammar> compile_grammar(const std::string& param, const std::string& gbnf) {
  try {
    return std::make_shared<const Grammar>(Grammar::parse(gbnf));
  } catch (const Error& e) {
    bad_request(param, "'" + param + "': " + e.what(), "invalid_grammar");
  }
}

std::shared_ptr<const Grammar> schema_grammar(const std::string& param, const std::string& schema) {
  std::string gbnf;
  try {
    gbnf = json_schema_to_gbnf(schema);
  } catch (const Error& e) {
    bad_request(param, "'" + param + "': " + e.what(), "unsupported_schema");
  }
  return compile_grammar(param, gbnf);
}

void parse_response_format(const json& body, std::string_view text, ApiRequest& r) {
  int given = 0;
  if (const json* format = field(body, "response_format")) {
    if (!format->is_object()) wrong_type("response_format", "an object", *format);
    auto type = get_string(*format, "type", "response_format.type");
    if (!type) bad_request("response_format.type", "'response_format.type' is required", "missing_field");
    if (*type == "text") {
      check_fields(*format, "response_format.", {"type"});
    } else if (*type == "json_object") {
      check_fields(*format, "response_format.", {"type"});
      r.grammar = compile_grammar("response_format", json_object_gbnf());
      ++given;
    } else if (*type == "json_schema") {
      check_fields(*format, "response_format.", {"type", "json_schema"});
      const json* spec = field(*format, "json_schema");
      if (!spec) bad_request("response_format.json_schema", "'response_format.json_schema' is required", "missing_field");
      if (!spec->is_object()) wrong_type("response_format.json_schema", "an object", *spec);
      check_fields(*spec, "response_format.json_schema.", {"name", "schema", "strict", "description"});
      get_string(*spec, "name", "response_format.json_schema.name");
      get_string(*spec, "description", "response_format.json_schema.description");
      get_bool(*spec, "strict", "response_format.json_schema.strict");
      const json* schema = field(*spec, "schema");
      // OpenAI's default schema when none is given: any JSON object.
      r.grammar = schema ? schema_grammar("response_format.json_schema.schema",
                                          schema_text(text, {"response_format", "json_schema", "schema"}))
                         : compile_grammar("response_format", json_object_gbnf());
      ++given;
    } else {
      bad_request("response_format.type",
                  "'response_format.type' must be text, json_object or json_schema, got '" + *type + "'");
    }
  }
  if (auto gbnf = get_string(body, "grammar", "grammar")) {
    r.grammar = compile_grammar("grammar", *gbnf);
    ++given;
  }
  if (const json* schema = field(body, "json_schema")) {
    if (!schema->is_object()) wrong_type("json_schema", "an object", *schema);
    r.grammar = schema_grammar("json_schema", schema_text(text, {"json_schema"}));
    ++given;
  }
  if (given > 1)
    bad_request("response_format", "give at most one of 'response_format' (json), 'grammar' and 'json_schema'",
                "conflicting_parameters");
}

bool valid_tool_name(const std::string& name) {
  return !name.empty() && name.size() <= 64 &&
         std::all_of(name.begin(), name.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; });
}

void parse_tools(const json& body, std::string_view text, ApiRequest& r) {
  constexpr size_t kMaxTools = 128;
  std::set<std::string> names;
  if (const json* tools = field(body, "tools")) {
    if (!tools->is_array()) wrong_type("tools", "an array", *tools);
    if (tools->size() > kMaxTools) bad_request("tools", fmt::format("at most {} tools", kMaxTools));
    for (size_t i = 0; i < tools->size(); ++i) {
      const std::string p = "tools[" + std::to_string(i) + "]";
      const json& tool = (*tools)[i];
      if (!tool.is_object()) wrong_type(p, "an object", tool);
      check_fields(tool, p + ".", {"type", "function"});
      if (get_string(tool, "type", p + ".type").value_or("") != "function")
        bad_request(p + ".type", "'" + p + ".type' must be \"function\"");
      const json* function = field(tool, "function");
      if (!function || !function->is_object()) bad_request(p + ".function", "'" + p + ".function' must be an object");
      check_fields(*function, p + ".function.", {"name", "description", "parameters", "strict"});
      const std::string name = get_string(*function, "name", p + ".function.name").value_or("");
      if (!valid_tool_name(name))
        bad_request(p + ".function.name", "'" + p + ".function.name' must be 1-64 letters, digits, _ or -");
      if (!names.insert(name).second) bad_request(p + ".function.name", "two tools are named '" + name + "'");
      get_string(*function, "description", p + ".function.description");
      get_bool(*function, "strict", p + ".function.strict");
      if (const json* parameters = field(*function, "parameters"); parameters && !parameters->is_object())
        wrong_type(p + ".function.parameters", "an object (a JSON Schema)", *parameters);
    }
    r.tools = *tools;
    r.tools_json = schema_text(text, {"tools"});
  }
  if (const json* choice = field(body, "tool_choice")) {
    if (choice->is_string()) {
      r.tool_choice = choice->get<std::string>();
      if (r.tool_choice != "none" && r.tool_choice != "auto" && r.tool_choice != "required")
        bad_request("tool_choice", "'tool_choice' must be none, auto, required or {\"type\": \"function\", ...}");
    } else if (choice->is_object()) {
      check_fields(*choice, "tool_choice.", {"type", "function"});
      const json* function = field(*choice, "function");
      if (!function || !function->is_object()) bad_request("tool_choice.function", "'tool_choice.function' must be an object");
      check_fields(*function, "tool_choice.function.", {"name"});
      r.tool_choice = "function";
      r.tool_choice_name = get_string(*function, "name", "tool_choice.function.name").value_or("");
      if (!names.count(r.tool_choice_name))
        bad_request("tool_choice.function.name", "'tool_choice' names '" + r.tool_choice_name + "', which is not among the tools");
    } else {
      wrong_type("tool_choice", "a string or an object", *choice);
    }
    if (r.tools.empty() && r.tool_choice != "none" && r.tool_choice != "auto")
      bad_request("tool_choice", "'tool_choice' " + r.tool_choice + " needs 'tools'");
  }
  r.parallel_tool_calls = get_bool(body, "parallel_tool_calls", "parallel_tool_calls").value_or(true);
  if (r.uses_tools() && r.tool_choice != "auto" && r.grammar)
    bad_request("tool_choice", "a required tool call and 'response_format' (or 'grammar') cannot both shape the answer",
                "conflicting_parameters");
}

void parse_common(const json& body, std::string_view text, ApiRequest& r) {
  r.model = get_string(body, "model", "model").value_or("");
  r.stream = get_bool(body, "stream", "stream").value_or(false);
  get_string(body, "user", "user");  // an end-user id for the caller's records: no effect here
  if (const json* options = field(body, "stream_options")) {
    if (!options->is_object()) wrong_type("stream_options", "an object", *options);
    check_fields(*options, "stream_options.", {"include_usage"});
    r.include_usage = get_bool(*options, "include_usage", "stream_options.include_usage").value_or(false);
  }
  r.n = int(get_int(body, "n", "n", 1, kMaxSamples).value_or(1));
  r.stop = parse_stop(body);
  auto max_tokens = get_int(body, "max_completion_tokens", "max_completion_tokens", 1, kMaxTokenLimit);
  if (!max_tokens) max_tokens = get_int(body, "max_tokens", "max_tokens", 1, kMaxTokenLimit);
  if (max_tokens) r.max_tokens = int(*max_tokens);

  if (auto v = get_number(body, "temperature", 0, 2)) r.sampling.temperature = float(*v);
  if (auto v = get_number(body, "top_p", 0, 1)) r.sampling.top_p = float(*v);
  if (auto v = get_number(body, "min_p", 0, 1)) r.sampling.min_p = float(*v);
  if (auto v = get_int(body, "top_k", "top_k", 0, 1 << 20)) r.sampling.top_k = int(*v);
  if (auto v = get_number(body, "presence_penalty", -2, 2)) r.sampling.presence_penalty = float(*v);
  if (auto v = get_number(body, "frequency_penalty", -2, 2)) r.sampling.frequency_penalty = float(*v);
  if (auto v = get_int(body, "seed", "seed", std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()))
    r.sampling.seed = uint64_t(*v);

  parse_thinking(body, r);
  parse_response_format(body, text, r);
  if (auto method = get_string(body, "aggregate", "aggregate")) {
    try {
      r.aggregate = parse_vote_method(*method);
    } catch (const Error& e) {
      bad_request("aggregate", "'aggregate' must be majority, weighted, best or adaptive, got '" + *method + "'");
    }
  }
}

}  // namespace

int effort_budget(std::string_view effort) {
  if (effort == "none") return 0;
  if (effort == "low") return 256;
  if (effort == "medium") return 1024;
  if (effort == "high") return 4096;
  bad_request("reasoning_effort", "'reasoning_effort' must be none, low, medium or high, got '" +
                                      std::string(effort) + "'");
}

ApiRequest parse_chat_request(std::string_view text) {
  const json body = parse_object(text);
  check_fields(body, "", {"messages", "chat_template_kwargs", "logprobs", "top_logprobs", "tools", "tool_choice",
                          "parallel_tool_calls"},
               /*common=*/true);
  ApiRequest r;
  r.endpoint = Endpoint::chat;
  r.messages = parse_messages(body);
  parse_common(body, text, r);
  parse_tools(body, text, r);
  if (const json* kwargs = field(body, "chat_template_kwargs")) {
    if (!kwargs->is_object()) wrong_type("chat_template_kwargs", "an object", *kwargs);
    r.template_vars = *kwargs;
  }
  if (auto effort = get_string(body, "reasoning_effort", "reasoning_effort"); effort && *effort != "none")
    r.template_vars["reasoning_effort"] = *effort;
  const auto top = get_int(body, "top_logprobs", "top_logprobs", 0, 20);
  if (get_bool(body, "logprobs", "logprobs").value_or(false)) {
    r.logprobs = int(top.value_or(0));
  } else if (top) {
    bad_request("top_logprobs", "'top_logprobs' needs 'logprobs': true");
  }
  return r;
}

ApiRequest parse_completion_request(std::string_view text) {
  const json body = parse_object(text);
  check_fields(body, "", {"prompt", "logprobs"}, /*common=*/true);
  ApiRequest r;
  r.endpoint = Endpoint::completion;
  const json* prompt = field(body, "prompt");
  if (!prompt) bad_request("prompt", "'prompt' is required", "missing_field");
  if (prompt->is_array() && prompt->size() == 1 && (*prompt)[0].is_string()) {
    r.prompt = (*prompt)[0].get<std::string>();
  } else if (prompt->is_string()) {
    r.prompt = prompt->get<std::string>();
  } else {
    wrong_type("prompt", "a string (or an array of one string)", *prompt);
  }
  if (r.prompt.empty()) bad_request("prompt", "'prompt' is empty");
  parse_common(body, text, r);
  if (auto n = get_int(body, "logprobs", "logprobs", 0, 20)) r.logprobs = int(*n);
  return r;
}

TokenizeRequest parse_tokenize_request(std::string_view text) {
  const json body = parse_object(text);
  check_fields(body, "", {"content", "add_special", "parse_special", "with_pieces"});
  TokenizeRequest r;
  auto content = get_string(body, "content", "content");
  if (!content) bad_request("content", "'content' is required", "missing_field");
  r.content = std::move(*content);
  r.add_special = get_bool(body, "add_special", "add_special").value_or(false);
  r.parse_special = get_bool(body, "parse_special", "parse_special").value_or(true);
  r.with_pieces = get_bool(body, "with_pieces", "with_pieces").value_or(false);
  return r;
}

std::vector<int32_t> parse_detokenize_request(std::string_view text, int32_t n_vocab) {
  const json body = parse_object(text);
  check_fields(body, "", {"tokens"});
  const json* tokens = field(body, "tokens");
  if (!tokens) bad_request("tokens", "'tokens' is required", "missing_field");
  if (!tokens->is_array()) wrong_type("tokens", "an array of token ids", *tokens);
  std::vector<int32_t> ids;
  for (const json& t : *tokens) {
    if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() >= n_vocab)
      bad_request("tokens", fmt::format("'tokens' must hold token ids from 0 to {}, got {}", n_vocab - 1, t.dump()));
    ids.push_back(t.get<int32_t>());
  }
  return ids;
}

ControlCommand parse_control_command(std::string_view text) {
  const json body = parse_object(text);
  check_fields(body, "", {"action", "tokens", "query"});
  auto action = get_string(body, "action", "action");
  if (!action) bad_request("action", "'action' is required", "missing_field");
  ControlCommand command;
  if (*action == "answer_now") {
    command.action = ControlCommand::Action::answer_now;
  } else if (*action == "think_more") {
    command.action = ControlCommand::Action::think_more;
    auto tokens = get_int(body, "tokens", "tokens", 1, kMaxTokenLimit);
    if (!tokens) bad_request("tokens", "'think_more' needs 'tokens'", "missing_field");
    command.tokens = int(*tokens);
  } else if (*action == "search") {
    command.action = ControlCommand::Action::search;
    command.query = get_string(body, "query", "query").value_or("");
    if (command.query.empty() || command.query.size() > 1000)
      bad_request("query", "'search' needs a 'query' of 1 to 1000 bytes");
  } else {
    bad_request("action", "'action' must be answer_now, think_more or search, got '" + *action + "'");
  }
  return command;
}

const char* control_action_name(ControlCommand::Action action) {
  switch (action) {
    case ControlCommand::Action::answer_now: return "answer_now";
    case ControlCommand::Action::think_more: return "think_more";
    case ControlCommand::Action::search: return "search";
  }
  return "?";
}

}  // namespace s1::server
