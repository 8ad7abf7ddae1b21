#pragma once
// A small exact-match answer checker for curation. The data layer sits below
// eval in the layer list, so it cannot use eval's grader; it checks answers
// that are integers or short strings (our generated tasks) and takes any
// other grader as a function (the CLI passes eval's grade() for s1K-style
// LaTeX answers).
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace s1::data {

// The content of the last \boxed{...} (braces balanced), else what follows the
// last "answer is", up to the end of its sentence; nullopt when neither is there.
std::optional<std::string> extract_final_answer(std::string_view text);

// Trimmed, without surrounding $, a trailing period, a leading "x =", spaces
// and thousands separators in numbers; "+5" and "05" become "5", "-0" "0";
// letters are lower-cased.
std::string normalize_exact(std::string_view answer);

// Whether `output` (an answer text) states `reference`: extract, then compare normalized.
bool exact_match(std::string_view output, std::string_view reference);

// (answer text, reference) -> correct.
using AnswerMatcher = std::function<bool(std::string_view output, std::string_view reference)>;

}  // namespace s1::data
