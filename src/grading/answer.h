#pragma once
// Grading a model's final answer against a reference, the way MATH/GSM8K
// graders do: pull the answer out of the output, normalize both sides, then
// compare as strings, as structures (tuples, intervals, sets, matrices) and
// as numbers (a small LaTeX arithmetic subset, variables allowed).
//
// Decisions worth knowing:
// - Percent signs are dropped on both sides (Hendrycks' MATH grader does the
//   same), so "50\%" = "50"; "0.5" is not "50\%".
// - Units are dropped: \text{ cm}, \mbox{ inches}^2, and plain unit words after
//   a number ("5 cm"). Text answers (\text{Evelyn}) are kept, compared without case.
// - A leading "x =", "y=", "x \in" (short left side) is dropped.
// - Numbers agree within a relative 1e-6, except two integers, which must be
//   equal; expressions with variables agree when they agree at a few fixed points.
// - Unbracketed lists ("1, -2", "x=1 or x=-2"), \{...\} sets and \cup unions
//   ignore order; tuples and intervals compare element by element, brackets
//   included. "a \pm b" equals the list "a+b, a-b".
// - Base subscripts must match: 1011_2 is not 1011.
#include <optional>
#include <string>
#include <string_view>

namespace s1 {

enum class AnswerStyle {
  math,             // \boxed{}, "final answer", "#### N", else the last number
  multiple_choice,  // a letter A-E: "\boxed{C}", "(B)", "Answer: C"
};

enum class Verdict { correct, wrong, unparsed };

const char* to_string(Verdict verdict);

// The final answer in a model's output, or nullopt when none is found.
std::optional<std::string> extract_answer(std::string_view text, AnswerStyle style = AnswerStyle::math);

// The canonical string form both sides are compared in.
std::string normalize_answer(std::string_view answer);

// Whether two bare answers (already extracted) are mathematically the same.
bool answers_equivalent(std::string_view a, std::string_view b);

// Grades a full model output against a reference answer. A reference written as
// a choice, "(C)" or "\text{(C)}", switches to multiple-choice extraction.
Verdict grade(std::string_view prediction_text, std::string_view reference,
              AnswerStyle style = AnswerStyle::math);

}  // namespace s1
