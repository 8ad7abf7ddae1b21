#pragma once
// Training examples that teach what budget forcing asks of a model, made from
// generated tasks (data/tasks.h):
//
//   re-check   after the result, "Wait, let me check the answer." and an
//              independent check of the last step by its inverse (a
//              subtraction for a sum, an addition for a difference, a division
//              for a product): a forced "Wait" has something to do.
//   repair     the result line states a wrong value; the check after "Wait"
//              finds it, and the step is worked out again: extending the
//              thinking can change the answer for the better.
//   cut        the thinking ends at a random token boundary, as a budget ends
//              it, and the answer follows at once: a cut model answers in a few
//              tokens instead of deriving in the answer.
//   history    earlier turns of a conversation before the question.
//
// Each works on a task record (Task::to_json) and rewrites its assistant turn.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "data/rng.h"
#include "data/tasks.h"

namespace s1::data {

// The last line of a trace that states a checkable operation, "So a+b=R.",
// "So a-b=R." or "So a*b=R." with b of one digit (2..9); the lines after it
// restate R ("Mia has R apples.").
struct CheckableStep {
  size_t line = 0;
  int64_t a = 0, b = 0, result = 0;
  char op = '+';
};
std::optional<CheckableStep> last_checkable_step(const std::string& thinking);

// Thinking + `passes` times a "Wait" and a check that finds the result right.
// nullopt when the trace has no checkable step.
std::optional<std::string> with_rechecks(const std::string& thinking, int passes);

// The trace with a wrong result (a near miss, from `rng`) in its last step and
// the lines after it, then a "Wait", a check that finds it wrong, the step
// worked out again and, with `confirm`, a check that finds the repair right.
std::optional<std::string> with_repaired_error(const std::string& thinking, Rng& rng, bool confirm);

// The thinking as a budget leaves it: "\n" + thinking (what the model writes
// after the opening delimiter) cut at a random point that is a token boundary
// for a byte-level BPE with the qwen2 pre-tokenizer (never inside a word,
// between a space and the word after it, or between punctuation and the
// newline after it). May be empty (a budget of 0).
std::string cut_thinking(const std::string& thinking, Rng& rng);

// The record's (last) assistant turn with new thinking; `cut`: ended by a budget
// (the SFT data's "thinking_cut").
void set_thinking(nlohmann::json& record, const std::string& thinking, bool cut);

// `turns` tasks for the conversation before task `index` of `options`, in
// order: the same kinds and levels, from a stream of their own (task `index`
// stays the task it is without history), `max_turns` slots of it per task.
std::vector<nlohmann::json> earlier_tasks(const GenerateOptions& options, uint64_t index, int turns, int max_turns);

// Puts earlier turns (each record's question and its answer text, as a client
// sends an answer back: no thinking, not learned) before the record's
// messages, and lists them in its "history" (what `s1 eval` sends first).
void prepend_history(nlohmann::json& record, const std::vector<nlohmann::json>& earlier);

}  // namespace s1::data
