#pragma once
// Parsing and validation of request bodies: OpenAI's chat/completions and
// completions fields plus s1's reasoning controls, and the live-control
// command. Every problem is an ApiError (400) naming the field; nothing here
// touches the model, so the fuzz target exercises all of it.
//
// Reasoning controls (documented in docs/server.md):
//   "thinking": {"max_tokens", "min_tokens", "wait", "wait_text", "answer_max_tokens"}
//   "reasoning_effort": "none" | "low" | "medium" | "high"  (a thinking budget; "thinking" wins)
//   "aggregate": "majority" | "weighted" | "best"            (with n > 1)
// Constrained answers (the thinking before them is free):
//   "response_format": {"type": "text" | "json_object"} or
//                      {"type": "json_schema", "json_schema": {"name", "schema", "strict", "description"}}
//   "grammar": GBNF text, "json_schema": a schema (llama-server's fields); one of the three at most
#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reasoning/budget.h"
#include "reasoning/vote.h"
#include "sampling/grammar.h"
#include "sampling/sampler.h"

namespace s1::server {

enum class Endpoint { chat, completion };

inline constexpr int kMaxSamples = 16;
inline constexpr int kMaxStopStrings = 4;

struct ApiRequest {
  Endpoint endpoint = Endpoint::chat;
  nlohmann::json messages;  // chat: [{role, content}] with text content, as chat templates want
  std::string prompt;       // completion
  std::string model;        // empty: whatever model is served
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  int n = 1;
  std::vector<std::string> stop;
  std::optional<int> max_tokens;  // thinking and answer together, per sample
  SamplingParams sampling;
  BudgetParams budget;
  std::optional<VoteMethod> aggregate;
  std::shared_ptr<const Grammar> grammar;  // the answer's, from response_format / grammar / json_schema
  // Answer tokens' log-probabilities with this many alternatives each; -1: none.
  // Chat: logprobs true + top_logprobs (0-20); completions: logprobs N (0-20).
  int logprobs = -1;
  // chat: OpenAI's tools; the model's chat template renders them and its
  // answer's calls come back as tool_calls.
  nlohmann::json tools = nlohmann::json::array();
  std::string tools_json;           // the same, as the client ordered its keys (for the call grammar)
  std::string tool_choice = "auto"; // none | auto | required | function (then tool_choice_name)
  std::string tool_choice_name;
  bool parallel_tool_calls = true;
  bool uses_tools() const { return !tools.empty() && tool_choice != "none"; }
  // chat: variables the chat template sees beside the messages: a request's
  // chat_template_kwargs ({"enable_thinking": false}), and its
  // reasoning_effort (low / medium / high) as gpt-oss's template reads it.
  nlohmann::json template_vars = nlohmann::json::object();
};

ApiRequest parse_chat_request(std::string_view body);
ApiRequest parse_completion_request(std::string_view body);

struct ControlCommand {
  enum class Action { answer_now, think_more, search } action = Action::answer_now;
  int tokens = 0;     // think_more
  std::string query;  // search: run the search tool now, its hits appended to the samples
};
const char* control_action_name(ControlCommand::Action action);
ControlCommand parse_control_command(std::string_view body);

// llama-server's utility endpoints: POST /tokenize, /detokenize, /apply-template.
struct TokenizeRequest {
  std::string content;
  bool add_special = false;  // BOS where the model wants one
  bool parse_special = true;  // special-token text becomes its token
  bool with_pieces = false;   // [{id, piece}] instead of ids
};
TokenizeRequest parse_tokenize_request(std::string_view body);
std::vector<int32_t> parse_detokenize_request(std::string_view body, int32_t n_vocab);

// The thinking budget a reasoning_effort stands for.
int effort_budget(std::string_view effort);

}  // namespace s1::server
