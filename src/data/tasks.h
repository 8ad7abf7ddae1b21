#pragma once
// Synthetic reasoning tasks with exact answers, each with a teacher's
// step-by-step trace (data/scratchpad.h) in the format the trainer reads.
//
//   kind      what                                          difficulty 1..5 grades
//   add       multi-digit addition                          digits: 2..6
//   sub       multi-digit subtraction (never negative)      digits: 2..6
//   mul       multiplication by a one- or two-digit number  2x1, 3x1, 4x1, 2x2, 3x2 digits
//   word      word problems of 2..4 steps (buy, give, boxes, doubles)   steps and number sizes
//   equation  ax + b = c or ax - b = c, solve for x          sizes of x and b
//   count     how often a digit occurs in a digit string    string length 8..20
//   order     the k-th smallest of a list                   list length 3..7 (3-digit from 4)
//
// Task i of a seed depends only on (seed, i, options), so any slice of a run
// can be regenerated alone and two machines produce the same file.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace s1::data {

enum class TaskKind { add, sub, mul, word, equation, count, order };
inline constexpr int kMaxDifficulty = 5;

std::string_view task_kind_name(TaskKind kind);
std::optional<TaskKind> parse_task_kind(std::string_view name);
const std::vector<TaskKind>& all_task_kinds();

struct Task {
  std::string id;  // "<seed>-<index>"
  TaskKind kind = TaskKind::add;
  int difficulty = 1;
  std::string question;
  std::string thinking;     // the teacher's trace, lines separated by '\n'
  std::string answer;       // the exact answer ("4803")
  std::string answer_text;  // what the assistant says after thinking: "The answer is \boxed{4803}."
  bool slip = false;        // the trace plants a slip and repairs it

  // question, answer, kind, difficulty, thinking, answer_text, slip, id, and
  // messages: [{role user, content}, {role assistant, thinking, content}].
  nlohmann::json to_json() const;
};

struct GenerateOptions {
  uint64_t seed = 1;
  std::vector<TaskKind> kinds = all_task_kinds();  // drawn uniformly
  std::vector<int> difficulties = {1, 2, 3, 4, 5};  // drawn uniformly
  double slip_rate = 0.2;                           // share of traces with a planted slip
};

Task generate_task(const GenerateOptions& options, uint64_t index);
// One task of a given kind and difficulty from an explicit seed (tests).
Task generate_task(TaskKind kind, int difficulty, uint64_t seed, double slip_rate);

std::string boxed_answer_text(std::string_view answer);

// "1-3" or "1,2,5" -> {1, 2, 3} / {1, 2, 5}; s1::Error outside 1..kMaxDifficulty.
std::vector<int> parse_difficulties(std::string_view spec);
// "add,mul" -> kinds; "all" -> every kind; s1::Error naming an unknown kind.
std::vector<TaskKind> parse_task_kinds(std::string_view spec);

}  // namespace s1::data
