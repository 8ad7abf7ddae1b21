#pragma once
// What a generation reports while it runs: one stream of events for the CLI,
// the server (SSE) and the evaluator alike.
#include <cstdint>
#include <string>
#include <vector>

namespace s1 {

enum class EventKind {
  thinking_started,  // the thinking block opened (by the prompt, the controller or the model)
  thinking_text,     // text: a piece of the reasoning
  thinking_ended,    // the model closed its thinking itself
  forced_end,        // the budget (or answer_now) closed the thinking
  wait_appended,     // an attempt to stop was replaced by the wait text; count: waits so far
  answer_text,       // text: a piece of the answer
  answer_logprobs,   // logprobs: an answer token's (when the request asked for them)
  searched,          // the model's search ran; text: the query; results: the hits appended to its sequence
  sample_finished,   // the sample is complete; text: its extracted answer
  vote,              // n > 1: text: the chosen answer; count: its votes
  probe,             // probe stop: text: a probe's extracted answer ("" when none); count: thinking tokens it saw
};

const char* event_name(EventKind kind);

// An answer token with its log-probability under the model and the most
// likely alternatives at its position (OpenAI's logprobs.content entries).
struct TokenChoiceLogprobs {
  struct Entry {
    int32_t token = -1;
    std::string bytes;  // the token's text (a character may be split across tokens)
    float logprob = 0.0f;
  };
  Entry chosen;
  std::vector<Entry> top;
};

// One hit of the search tool: a passage, where it comes from, and its span there.
struct SearchResult {
  std::string path, title, text;
  int64_t begin = 0, end = 0;
};

struct Event {
  Event(EventKind kind, int sample = 0, std::string text = "", int count = 0)
      : kind(kind), sample(sample), text(std::move(text)), count(count) {}

  EventKind kind;
  int sample = 0;  // which of the n samples
  std::string text;
  int count = 0;
  std::vector<TokenChoiceLogprobs> logprobs;  // answer_logprobs only
  std::vector<SearchResult> results;          // searched only
};

}  // namespace s1
