#pragma once
// Curation with s1's three criteria, on our generated tasks or s1K-style
// JSONL (question, thinking trajectory, attempt, reference answer, domain):
//   quality     well-formed, a final answer can be extracted from the attempt,
//               and it matches the reference; no duplicate questions;
//   difficulty  drop questions a reference model already solves (the caller
//               runs it; see data/reference_solver.h) and traces shorter than
//               a minimum;
//   diversity   pick a domain uniformly, then a question of that domain with
//               probability growing with its trace length (s1 favours longer
//               traces), until n are kept.
// Deterministic for a seed. Every dropped record has one reason: the first
// criterion it fails, in the order above.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "grading/answer.h"

namespace s1::data {

// One input line, read from any of the field spellings we know:
//   question     question | problem | the first user message
//   thinking     thinking | reasoning_content | thinking_trajectories (list or string) |
//                deepseek_thinking_trajectory | gemini_thinking_trajectory | the assistant's thinking
//   answer text  answer_text | attempt | deepseek_attempt | gemini_attempt | the assistant's content
//   reference    answer | the final answer of solution
//   domain       kind | domain | cot_type | source_type
struct CurationRecord {
  size_t line = 0;  // position in the input, 0-based
  std::string question, thinking, answer_text, domain;
  std::optional<std::string> reference;
  nlohmann::json raw;  // written out unchanged when kept
};
CurationRecord read_curation_record(const nlohmann::json& json, size_t line);

// How curation checks a trace's answer: eval's grader (grading/answer.h) by
// default, the same extraction and comparison `s1 eval` scores with.
struct AnswerChecker {
  std::function<std::optional<std::string>(std::string_view text)> extract = [](std::string_view text) {
    return extract_answer(text);
  };
  std::function<bool(std::string_view a, std::string_view b)> equivalent = [](std::string_view a, std::string_view b) {
    return answers_equivalent(a, b);
  };
  bool correct(std::string_view answer_text, std::string_view reference) const;
};

// For each question, the reference model's answer text (same order).
using ReferenceSolver = std::function<std::vector<std::string>(const std::vector<std::string>& questions)>;

struct CurateOptions {
  int64_t n = 1000;
  uint64_t seed = 1;
  double length_power = 1.0;        // weight = thinking length ^ power within a domain; 0: uniform
  size_t min_thinking_chars = 0;    // shorter traces are dropped as too easy
  size_t max_thinking_chars = 0;    // longer ones are dropped as too long for the model; 0: no limit
  AnswerChecker checker;
  ReferenceSolver reference_solver;  // empty: no difficulty filter by a model
};

struct CurateResult {
  std::vector<size_t> kept;                // indexes into the input, in input order
  std::map<std::string, int64_t> dropped;  // reason -> count
  std::map<std::string, int64_t> kept_by_domain, candidates_by_domain;
};

CurateResult curate(const std::vector<CurationRecord>& records, const CurateOptions& options);

// The summary `s1 data curate` prints: kept and dropped counts by reason and by domain.
std::string format_curate_report(const CurateResult& result, size_t n_input);

}  // namespace s1::data
