#include "eval/dataset.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "util/error.h"

namespace s1 {
namespace {

namespace fs = std::filesystem;

constexpr const char* kQuestionFields[] = {"problem", "question", "prompt", "input"};
constexpr const char* kAnswerFields[] = {"answer", "reference", "target", "solution"};
constexpr const char* kIdFields[] = {"id", "unique_id", "problem_id"};
constexpr int kMaxChoices = 5;  // the grader reads letters A-E

std::string trim(std::string_view s) {
  const size_t start = s.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return "";
  const size_t end = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(start, end - start + 1));
}

// A string, or a number written as JSON (AIME answers are integers).
std::optional<std::string> text_of(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number()) return value.dump();
  return std::nullopt;
}

std::string field_text(const nlohmann::json& row, const std::string& wanted, const char* const* fallbacks,
                       size_t n_fallbacks, const char* role, const std::string& where) {
  if (!wanted.empty()) {
    auto it = row.find(wanted);
    if (it == row.end()) fail("{}: no '{}' field", where, wanted);
    auto text = text_of(*it);
    if (!text) fail("{}: field '{}' is not a string or a number", where, wanted);
    return *text;
  }
  for (size_t i = 0; i < n_fallbacks; ++i)
    if (auto it = row.find(fallbacks[i]); it != row.end())
      if (auto text = text_of(*it)) return *text;
  std::string names;
  for (size_t i = 0; i < n_fallbacks; ++i) names += (i ? ", " : "") + std::string(fallbacks[i]);
  fail("{}: no {} field (looked for {}; name it with --{}-field)", where, role, names, role);
}

// GSM8K references are worked solutions ending "#### 72".
std::string bare_reference(const std::string& answer) {
  const size_t mark = answer.rfind("####");
  return mark == std::string::npos ? trim(answer) : trim(std::string_view(answer).substr(mark + 4));
}

// Earlier turns: user and assistant messages with string content, alternating
// from a user's and ending with an assistant's, so the question comes next.
nlohmann::json read_history(const nlohmann::json& history, const std::string& where) {
  if (!history.is_array()) fail("{}: history must be a list of {{role, content}} messages", where);
  for (size_t k = 0; k < history.size(); ++k) {
    const nlohmann::json& m = history[k];
    const char* role = k % 2 == 0 ? "user" : "assistant";
    if (!m.is_object() || m.value("role", "") != role || !m.contains("content") || !m["content"].is_string())
      fail("{}: history message {} must be {{\"role\": \"{}\", \"content\": \"...\"}} (turns alternate from the user's)",
           where, k, role);
  }
  if (history.size() % 2 != 0) fail("{}: history must end with an assistant's message", where);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& m : history) out.push_back({{"role", m["role"]}, {"content", m["content"]}});
  return out;
}

// Turns the question and choices into one prompt and the answer into a letter.
void make_multiple_choice(Problem& problem, const nlohmann::json& choices, const std::string& where) {
  std::vector<std::pair<char, std::string>> lettered;
  if (choices.is_array()) {
    for (const auto& c : choices) {
      auto text = text_of(c);
      if (!text) fail("{}: every choice must be a string", where);
      lettered.emplace_back(char('A' + lettered.size()), *text);
    }
  } else if (choices.is_object()) {
    for (const auto& [letter, c] : choices.items()) {
      auto text = text_of(c);
      if (letter.size() != 1 || letter[0] < 'A' || letter[0] > 'E' || !text)
        fail("{}: choices must map letters A-E to strings", where);
      lettered.emplace_back(letter[0], *text);
    }
  } else {
    fail("{}: choices must be a list or an object of letters", where);
  }
  if (lettered.size() < 2 || lettered.size() > size_t(kMaxChoices))
    fail("{}: {} choices; give 2 to {}", where, lettered.size(), kMaxChoices);

  std::string answer = trim(problem.reference);
  if (answer.size() == 3 && answer.front() == '(' && answer.back() == ')') answer = answer.substr(1, 1);
  std::optional<char> letter;
  for (const auto& [l, text] : lettered)
    if (answer == std::string(1, l) || answer == trim(text)) letter = l;
  if (!letter)
    fail("{}: answer '{}' is neither a choice letter nor a choice's text", where, problem.reference);

  problem.question += "\n\n";
  for (const auto& [l, text] : lettered) problem.question += fmt::format("({}) {}\n", l, text);
  problem.question += "\nAnswer with the letter of the correct choice, as \\boxed{X}.";
  problem.reference = std::string(1, *letter);
  problem.style = AnswerStyle::multiple_choice;
}

std::string resolve_path(const std::string& name_or_path, const DatasetOptions& options, std::string& name) {
  for (const auto& [named, file] : named_datasets()) {
    if (named != name_or_path) continue;
    name = named;
    const fs::path dir =
        options.data_dir.empty() ? fs::path("../shared/datasets") : fs::path(options.data_dir);
    const fs::path path = dir / file;
    if (!fs::exists(path))
      fail("{}: dataset '{}' not found there; point --data-dir at the folder holding {}", path.string(),
           named, file);
    return path.string();
  }
  if (!fs::exists(name_or_path)) {
    std::string names;
    for (const auto& [named, file] : named_datasets()) names += (names.empty() ? "" : ", ") + named;
    fail("{}: no such file, and not a named dataset ({})", name_or_path, names);
  }
  name = fs::path(name_or_path).stem().string();
  return name_or_path;
}

}  // namespace

const std::vector<std::pair<std::string, std::string>>& named_datasets() {
  static const std::vector<std::pair<std::string, std::string>> sets = {
      {"aime24", "aime24.jsonl"},   {"aime25", "aime25.jsonl"},    {"amc23", "amc23.jsonl"},
      {"math500", "math500.jsonl"}, {"gsm8k", "gsm8k_test.jsonl"},
  };
  return sets;
}

Dataset load_dataset(const std::string& name_or_path, const DatasetOptions& options) {
  Dataset dataset;
  dataset.path = resolve_path(name_or_path, options, dataset.name);
  std::ifstream in(dataset.path);
  if (!in) fail("{}: cannot open the dataset", dataset.path);
  std::set<std::string> ids;  // records are keyed by id, so ids must be unique
  std::string line;
  for (int line_number = 1; std::getline(in, line); ++line_number) {
    if (trim(line).empty()) continue;
    if (options.limit > 0 && int(dataset.problems.size()) >= options.limit) break;
    const std::string where = fmt::format("{}:{}", dataset.path, line_number);
    nlohmann::json row;
    try {
      row = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error&) {
      fail("{}: not a JSON object", where);
    }
    if (!row.is_object()) fail("{}: not a JSON object", where);
    Problem problem;
    problem.question = field_text(row, options.question_field, kQuestionFields, std::size(kQuestionFields),
                                  "question", where);
    problem.reference = bare_reference(
        field_text(row, options.answer_field, kAnswerFields, std::size(kAnswerFields), "answer", where));
    problem.id = std::to_string(line_number);
    for (const char* field : kIdFields)
      if (auto it = row.find(field); it != row.end())
        if (auto id = text_of(*it)) {
          problem.id = *id;
          break;
        }
    if (!ids.insert(problem.id).second)
      fail("{}: id '{}' was already used by an earlier line", where, problem.id);
    if (auto choices = row.find(options.choices_field); choices != row.end())
      make_multiple_choice(problem, *choices, where);
    if (auto history = row.find("history"); history != row.end()) problem.history = read_history(*history, where);
    dataset.problems.push_back(std::move(problem));
  }
  if (dataset.problems.empty()) fail("{}: the dataset holds no problems", dataset.path);
  return dataset;
}

}  // namespace s1
