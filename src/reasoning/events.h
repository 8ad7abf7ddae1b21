#pragma once
// What a generation reports while it runs: one stream of events for the CLI,
// the server (SSE) and the evaluator alike.
#include <string>

namespace s1 {

enum class EventKind {
  thinking_started,  // the thinking block opened (by the prompt, the controller or the model)
  thinking_text,     // text: a piece of the reasoning
  thinking_ended,    // the model closed its thinking itself
  forced_end,        // the budget (or answer_now) closed the thinking
  wait_appended,     // an attempt to stop was replaced by the wait text; count: waits so far
  answer_text,       // text: a piece of the answer
  sample_finished,   // the sample is complete; text: its extracted answer
  vote,              // n > 1: text: the chosen answer; count: its votes
};

const char* event_name(EventKind kind);

struct Event {
  EventKind kind;
  int sample = 0;  // which of the n samples
  std::string text;
  int count = 0;
};

}  // namespace s1
