#include "data/curate.h"

#include <fmt/format.h>

#include <cmath>
#include <set>

#include "data/rng.h"
#include "tokenizer/utf8.h"

namespace s1::data {
namespace {

using nlohmann::json;

std::string text_of(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number()) return value.dump();
  if (value.is_array()) {  // s1K's thinking_trajectories: a list of strings
    std::string out;
    for (const auto& item : value)
      if (item.is_string()) out += (out.empty() ? "" : "\n") + item.get<std::string>();
    return out;
  }
  return "";
}

// The first of `keys` present with a non-empty text.
std::string first_field(const json& record, std::initializer_list<const char*> keys) {
  for (const char* key : keys) {
    auto it = record.find(key);
    if (it != record.end()) {
      std::string text = text_of(*it);
      if (!text.empty()) return text;
    }
  }
  return "";
}

const json* find_message(const json& record, const char* role) {
  auto messages = record.find("messages");
  if (messages == record.end() || !messages->is_array()) return nullptr;
  for (const auto& m : *messages)
    if (m.is_object() && m.contains("role") && m["role"].is_string() && m["role"] == role) return &m;
  return nullptr;
}

std::string normalize_question(std::string_view q) {
  std::string out;
  bool space = false;
  for (char c : q) {
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += char(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

bool has_format_markers(std::string_view text) {
  for (std::string_view marker : {"<think>", "</think>", "<|im_start|>", "<|im_end|>", "<|endoftext|>"})
    if (text.find(marker) != std::string_view::npos) return true;
  return false;
}

}  // namespace

CurationRecord read_curation_record(const json& record, size_t line) {
  CurationRecord r;
  r.line = line;
  r.raw = record;
  const json* user = find_message(record, "user");
  const json* assistant = find_message(record, "assistant");
  r.question = first_field(record, {"question", "problem"});
  if (r.question.empty() && user) r.question = first_field(*user, {"content"});
  r.thinking = first_field(record, {"thinking", "reasoning_content", "thinking_trajectories",
                                    "deepseek_thinking_trajectory", "gemini_thinking_trajectory"});
  if (r.thinking.empty() && assistant) r.thinking = first_field(*assistant, {"thinking", "reasoning_content"});
  r.answer_text = first_field(record, {"answer_text", "attempt", "deepseek_attempt", "gemini_attempt"});
  if (r.answer_text.empty() && assistant) r.answer_text = first_field(*assistant, {"content"});
  std::string reference = first_field(record, {"answer"});
  if (reference.empty()) {
    std::string solution = first_field(record, {"solution"});
    if (auto final_answer = extract_answer(solution)) reference = *final_answer;
  }
  if (!reference.empty()) r.reference = reference;
  r.domain = first_field(record, {"kind", "domain", "cot_type", "source_type"});
  if (r.domain.empty()) r.domain = "unknown";
  return r;
}

bool AnswerChecker::correct(std::string_view answer_text, std::string_view reference) const {
  auto answer = extract(answer_text);
  return answer && equivalent(*answer, reference);
}

CurateResult curate(const std::vector<CurationRecord>& records, const CurateOptions& options) {
  CurateResult result;
  // Quality, in order: well-formed, extractable, correct, not a duplicate.
  std::vector<size_t> candidates;
  std::set<std::string> seen_questions;
  for (size_t i = 0; i < records.size(); ++i) {
    const CurationRecord& r = records[i];
    const char* reason = nullptr;
    if (r.question.empty() || r.thinking.empty() || r.answer_text.empty() ||
        utf8_valid_prefix(r.question) != r.question.size() || utf8_valid_prefix(r.thinking) != r.thinking.size() ||
        utf8_valid_prefix(r.answer_text) != r.answer_text.size() || has_format_markers(r.thinking) ||
        has_format_markers(r.answer_text) || has_format_markers(r.question)) {
      reason = "malformed";
    } else if (options.max_thinking_chars && r.thinking.size() > options.max_thinking_chars) {
      reason = "too_long";
    } else if (!options.checker.extract(r.answer_text)) {
      reason = "no_answer";
    } else if (r.reference && !options.checker.correct(r.answer_text, *r.reference)) {
      reason = "wrong_answer";
    } else if (!seen_questions.insert(normalize_question(r.question)).second) {
      reason = "duplicate";
    }
    if (reason) {
      ++result.dropped[reason];
    } else {
      candidates.push_back(i);
    }
  }

  // Difficulty: too short a trace, or the reference model already solves it.
  std::vector<size_t> hard;
  for (size_t i : candidates) {
    if (records[i].thinking.size() < options.min_thinking_chars) {
      ++result.dropped["short_thinking"];
    } else {
      hard.push_back(i);
    }
  }
  if (options.reference_solver) {
    std::vector<size_t> judged;  // only questions with a reference can be judged
    std::vector<std::string> questions;
    for (size_t i : hard) {
      if (records[i].reference) {
        judged.push_back(i);
        questions.push_back(records[i].question);
      }
    }
    std::vector<std::string> answers = options.reference_solver(questions);
    std::set<size_t> solved;
    for (size_t k = 0; k < judged.size() && k < answers.size(); ++k)
      if (options.checker.correct(answers[k], *records[judged[k]].reference)) solved.insert(judged[k]);
    std::vector<size_t> unsolved;
    for (size_t i : hard) {
      if (solved.count(i)) {
        ++result.dropped["solved_by_reference"];
      } else {
        unsolved.push_back(i);
      }
    }
    hard = std::move(unsolved);
  }

  // Diversity: a uniform domain, then a length-weighted question within it.
  std::map<std::string, std::vector<size_t>> pools;  // ordered: the same draws on every run
  for (size_t i : hard) {
    pools[records[i].domain].push_back(i);
    ++result.candidates_by_domain[records[i].domain];
  }
  Rng rng(options.seed);
  std::vector<size_t> kept;
  while (int64_t(kept.size()) < options.n && !pools.empty()) {
    auto domain = std::next(pools.begin(), ptrdiff_t(rng.below(pools.size())));
    std::vector<size_t>& pool = domain->second;
    std::vector<double> weights;
    double total = 0;
    for (size_t i : pool) {
      double w = std::pow(double(records[i].thinking.size()), options.length_power);
      weights.push_back(w);
      total += w;
    }
    double target = rng.uniform() * total;
    size_t pick = 0;
    while (pick + 1 < pool.size() && target >= weights[pick]) target -= weights[pick++];
    kept.push_back(pool[pick]);
    ++result.kept_by_domain[domain->first];
    pool.erase(pool.begin() + ptrdiff_t(pick));
    if (pool.empty()) pools.erase(domain);
  }
  const int64_t not_sampled = int64_t(hard.size()) - int64_t(kept.size());
  if (not_sampled > 0) result.dropped["not_sampled"] = not_sampled;
  std::sort(kept.begin(), kept.end());
  result.kept = std::move(kept);
  return result;
}

std::string format_curate_report(const CurateResult& result, size_t n_input) {
  std::string out = fmt::format("read {} records, kept {}\n", n_input, result.kept.size());
  for (const char* reason : {"malformed", "too_long", "no_answer", "wrong_answer", "duplicate", "short_thinking",
                             "solved_by_reference", "not_sampled"}) {
    auto it = result.dropped.find(reason);
    if (it != result.dropped.end()) out += fmt::format("dropped {:>7}  {}\n", it->second, reason);
  }
  for (const auto& [domain, candidates] : result.candidates_by_domain) {
    auto it = result.kept_by_domain.find(domain);
    out += fmt::format("domain {:<16} kept {:>6} of {:>6} candidates\n", domain,
                       it == result.kept_by_domain.end() ? 0 : it->second, candidates);
  }
  return out;
}

}  // namespace s1::data
