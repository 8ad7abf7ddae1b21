// Generated tasks: reproducible, answers right (recomputed from the question
// text alone), and every trace a valid working whose only false steps are the
// planted slips, each repaired by the "Wait" line right after it.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <regex>
#include <sstream>

#include "data/jsonl.h"
#include "data/tasks.h"
#include "support/test_support.h"
#include "util/error.h"

namespace {

using s1::data::Task;
using s1::data::TaskKind;

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream ss(text);
  for (std::string line; std::getline(ss, line);) lines.push_back(line);
  return lines;
}

int64_t num(const std::string& s) { return std::stoll(s); }

// Compiled once: std::regex construction dominates otherwise.
const std::regex& re(const std::string& pattern) {
  static std::map<std::string, std::regex> cache;
  auto it = cache.find(pattern);
  if (it == cache.end()) it = cache.emplace(pattern, std::regex(pattern)).first;
  return it->second;
}

// The answer, computed from nothing but the question.
int64_t solve_question(const Task& task) {
  const std::string& q = task.question;
  std::smatch m;
  switch (task.kind) {
    case TaskKind::add:
      if (std::regex_search(q, m, re(R"((\d+) ?(?:\+|plus) ?(\d+))")) ||
          std::regex_search(q, m, re(R"((?:sum of|Add) (\d+) and (\d+))")))
        return num(m[1]) + num(m[2]);
      break;
    case TaskKind::sub:
      if (std::regex_search(q, m, re(R"((\d+) ?(?:-|minus) ?(\d+))"))) return num(m[1]) - num(m[2]);
      if (std::regex_search(q, m, re(R"((?:Subtract|Take) (\d+) (?:from|away from) (\d+))")))
        return num(m[2]) - num(m[1]);
      break;
    case TaskKind::mul:
      if (std::regex_search(q, m, re(R"((\d+) ?(?:\*|times|x) ?(\d+))")) ||
          std::regex_search(q, m, re(R"((?:Multiply|product of) (\d+) (?:by|and) (\d+))")))
        return num(m[1]) * num(m[2]);
      break;
    case TaskKind::equation:
      if (std::regex_search(q, m, re(R"((\d+)x ([+-]) (\d+) = (\d+))"))) {
        int64_t a = num(m[1]), b = num(m[3]), c = num(m[4]);
        int64_t ax = m[2] == "+" ? c - b : c + b;
        EXPECT_EQ(ax % a, 0) << q;
        return ax / a;
      }
      break;
    case TaskKind::count:
      if (std::regex_search(q, m, re(R"(digit (\d) appear in (\d+))")) ||
          std::regex_search(q, m, re(R"(digit (\d) occurs in (\d+))"))) {
        std::string digits = m[2];
        return std::count(digits.begin(), digits.end(), std::string(m[1])[0]);
      }
      if (std::regex_search(q, m, re(R"(number (\d+), how many digits are (\d))"))) {
        std::string digits = m[1];
        return std::count(digits.begin(), digits.end(), std::string(m[2])[0]);
      }
      break;
    case TaskKind::order: {
      static const std::vector<std::string> kOrdinals = {"first", "second", "third", "fourth", "fifth",
                                                         "sixth", "seventh", "eighth", "ninth", "tenth"};
      std::vector<int64_t> numbers;
      std::regex number(R"(\d+)");
      for (auto it = std::sregex_iterator(q.begin(), q.end(), number); it != std::sregex_iterator(); ++it)
        numbers.push_back(num(it->str()));
      std::sort(numbers.begin(), numbers.end());
      for (size_t k = 0; k < kOrdinals.size(); ++k)
        if (q.find(kOrdinals[k]) != std::string::npos) return numbers.at(k);
      break;
    }
    case TaskKind::word: {
      std::regex start(R"(has (\d+) )"), buy(R"(buys (\d+) more)"), give(R"(gives (\d+) )"),
          boxes(R"(gets (\d+) boxes with (\d+) )"), times(R"( (doubles|triples) )");
      std::smatch s;
      EXPECT_TRUE(std::regex_search(q, s, start)) << q;
      int64_t value = num(s[1]);
      std::stringstream sentences(q.substr(size_t(s.position(0) + s.length(0))));
      for (std::string sentence; std::getline(sentences, sentence, '.');) {
        if (std::regex_search(sentence, s, buy)) value += num(s[1]);
        else if (std::regex_search(sentence, s, give)) value -= num(s[1]);
        else if (std::regex_search(sentence, s, boxes)) value += num(s[1]) * num(s[2]);
        else if (std::regex_search(sentence, s, times)) value *= s[1] == "doubles" ? 2 : 3;
      }
      return value;
    }
  }
  ADD_FAILURE() << "cannot read the question: " << q;
  return -1;
}

// Whether a trace line's claims are true. Checks every arithmetic fact it
// states, the count step (yes exactly when the digit is the target) and the
// pick of the smallest (`list` is the last list seen, for Wait lines).
bool line_is_true(const std::string& line, char target, std::vector<int64_t>& list) {
  std::smatch m;
  if (std::regex_search(line, m, re(R"((\d+)\+(\d+)\+(\d+)=(\d+))")))
    return num(m[1]) + num(m[2]) + num(m[3]) == num(m[4]);
  if (std::regex_search(line, m, re(R"((\d+)\*(\d+)\+(\d+)=(\d+))")))
    return num(m[1]) * num(m[2]) + num(m[3]) == num(m[4]);
  if (std::regex_search(line, m, re(R"((\d+)-(\d+)-(\d+)=(\d+))")))
    return num(m[1]) - num(m[2]) - num(m[3]) == num(m[4]);
  if (std::regex_search(line, m, re(R"((\d+)=(\d)\*(\d+)\+(\d+))")))
    return num(m[1]) == num(m[2]) * num(m[3]) + num(m[4]) && num(m[4]) < num(m[2]);
  if (std::regex_search(line, m, re(R"(^(?:\d+: |Wait, let me check: )(\d)=(\d)\? (yes|no))")))
    return m[2].str()[0] == target && (m[1] == m[2]) == (m[3] == "yes");
  if (std::regex_search(line, m, re(R"(^([\d, ]+): smallest)"))) {
    list.clear();
    std::string text = m[1];
    std::regex number(R"(\d+)");
    for (auto it = std::sregex_iterator(text.begin(), text.end(), number); it != std::sregex_iterator(); ++it)
      list.push_back(num(it->str()));
  }
  if (std::regex_search(line, m, re(R"(smallest (\d+))")))
    return !list.empty() && num(m[1]) == *std::min_element(list.begin(), list.end());
  if (std::regex_search(line, m, re(R"(^So (\d+)([-+*/])(\d+)=(\d+)\.$)"))) {
    int64_t a = num(m[1]), b = num(m[3]), r = num(m[4]);
    char op = m[2].str()[0];
    return op == '+' ? a + b == r : op == '-' ? a - b == r : op == '*' ? a * b == r : a == b * r;
  }
  return true;
}

// Column lines carry their state on: the next line's carry (or borrow) and
// "so far" must follow from the previous line's true value.
int check_column_chain(const std::vector<std::string>& lines, const std::string& id) {
  int column_lines = 0;
  static const std::regex column(R"(^(\d+)([-+*])(\d+), (?:carry|borrow) (\d+): (?:\d-\d-\d<0, )?(\d+)[-+*](\d+)[-+*](\d+)=(\d+), so far (\d+)$)");
  static const std::regex wait_fix(R"(^Wait, let me check: .*=(\d+), not \d+, so far (\d+)$)");
  bool in_chain = false;
  int64_t expected_carry = 0;
  std::string so_far;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::smatch m;
    int64_t value;
    std::string written;
    bool borrow_line = false;
    if (std::regex_match(lines[i], m, column)) {
      ++column_lines;
      const bool first = !in_chain;
      if (!first) {
        EXPECT_EQ(num(m[4]), expected_carry) << id << " line " << i << ": " << lines[i];
      }
      if (first) so_far.clear();
      in_chain = true;
      value = num(m[8]);
      written = m[9];
      borrow_line = lines[i].find("<0") != std::string::npos;
      if (i + 1 < lines.size() && std::regex_match(lines[i + 1], m, wait_fix)) {  // the repair wins
        value = num(m[1]);
        written = m[2];
        ++i;
      }
      const char op = lines[i].find('*') != std::string::npos ? '*' : 0;
      expected_carry = borrow_line ? 1 : op == '*' || lines[i].find('+') != std::string::npos ? value / 10 : 0;
      const std::string tail = written.substr(written.size() - so_far.size());
      EXPECT_EQ(tail, so_far) << id << " line " << i << ": so far must extend the previous one";
      so_far = written;
    } else {
      in_chain = false;
      if (lines[i].rfind("So ", 0) == 0 && !so_far.empty()) {
        std::smatch r;
        if (std::regex_search(lines[i], r, re(R"(=(\d+)\.$)")) && lines[i].find('/') == std::string::npos &&
            lines[i].find("0=") == std::string::npos) {
          EXPECT_EQ(num(r[1]), num(so_far)) << id << ": " << lines[i];
        }
        so_far.clear();
      }
    }
  }
  return column_lines;
}

// Returns how many column-method lines the trace has.
int check_trace(const Task& task) {
  const std::string id = task.id + " (" + std::string(s1::data::task_kind_name(task.kind)) + ")";
  const auto lines = split_lines(task.thinking);
  char target = 0;
  if (task.kind == TaskKind::count) {
    std::smatch m;
    EXPECT_TRUE(std::regex_search(task.thinking, m, re(R"(count the (\d)s)"))) << id;
    if (m.empty()) return 0;
    target = m[1].str()[0];
  }
  std::vector<int64_t> list;
  int waits = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    const bool is_wait = lines[i].rfind("Wait, let me check: ", 0) == 0;
    const bool next_is_wait = i + 1 < lines.size() && lines[i + 1].rfind("Wait, let me check: ", 0) == 0;
    waits += is_wait;
    EXPECT_EQ(line_is_true(lines[i], target, list), !next_is_wait)
        << id << " line " << i << ": " << lines[i] << "\n" << task.thinking;
  }
  EXPECT_EQ(waits, task.slip ? 1 : 0) << id;
  EXPECT_NE(lines.back().find(task.answer), std::string::npos) << id << ": the last line states the answer";
  return check_column_chain(lines, id);
}

TEST(DataTasks, SameSeedSameTasksAndOtherSeedsDiffer) {
  s1::data::GenerateOptions options;
  options.seed = 42;
  for (uint64_t i = 0; i < 50; ++i) {
    Task a = s1::data::generate_task(options, i), b = s1::data::generate_task(options, i);
    EXPECT_EQ(a.to_json(), b.to_json());
  }
  s1::data::GenerateOptions other = options;
  other.seed = 43;
  int same = 0;
  for (uint64_t i = 0; i < 50; ++i)
    same += s1::data::generate_task(options, i).question == s1::data::generate_task(other, i).question;
  EXPECT_LT(same, 3);
}

// A fixed seed gives fixed text on every machine (our own PRNG, no std:: distributions).
TEST(DataTasks, OutputIsPinned) {
  Task task = s1::data::generate_task(TaskKind::add, 3, 7, 0.0);
  EXPECT_EQ(task.question, "What is 4508 plus 910?");
  EXPECT_EQ(task.answer, "5418");
}

TEST(DataTasks, RecordHasTheTrainingFormat) {
  Task task = s1::data::generate_task(TaskKind::mul, 2, 11, 0.0);
  nlohmann::json j = task.to_json();
  for (const char* key : {"id", "question", "answer", "kind", "difficulty", "thinking", "answer_text", "messages"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["kind"], "mul");
  EXPECT_EQ(j["messages"][0]["role"], "user");
  EXPECT_EQ(j["messages"][0]["content"], task.question);
  EXPECT_EQ(j["messages"][1]["role"], "assistant");
  EXPECT_EQ(j["messages"][1]["thinking"], task.thinking);
  EXPECT_EQ(j["messages"][1]["content"], "The answer is \\boxed{" + task.answer + "}.");
}

TEST(DataTasks, AnswersMatchTheQuestionsAndTracesAreValid) {
  for (TaskKind kind : s1::data::all_task_kinds()) {
    for (int difficulty = 1; difficulty <= s1::data::kMaxDifficulty; ++difficulty) {
      for (uint64_t seed = 1; seed <= 60; ++seed) {
        Task task = s1::data::generate_task(kind, difficulty, seed, /*slip_rate=*/0.5);
        EXPECT_EQ(task.answer, std::to_string(solve_question(task))) << task.id << ": " << task.question;
        const int column_lines = check_trace(task);
        const bool columns = kind != TaskKind::count && kind != TaskKind::order;
        EXPECT_EQ(column_lines > 0, columns) << task.id << "\n" << task.thinking;
        if (HasFailure()) return;
      }
    }
  }
}

TEST(DataTasks, SlipsArePlantedAtTheRequestedRateAndRepaired) {
  s1::data::GenerateOptions options;
  options.seed = 5;
  options.slip_rate = 0.3;
  int slips = 0;
  for (uint64_t i = 0; i < 400; ++i) {
    Task task = s1::data::generate_task(options, i);
    slips += task.slip;
    if (task.slip) {
      EXPECT_NE(task.thinking.find("\nWait, let me check: "), std::string::npos);
      check_trace(task);
    }
  }
  EXPECT_GT(slips, 80);
  EXPECT_LT(slips, 160);
  options.slip_rate = 0;
  for (uint64_t i = 0; i < 100; ++i) EXPECT_FALSE(s1::data::generate_task(options, i).slip);
}

TEST(DataTasks, KindsAndDifficultiesAreRespected) {
  s1::data::GenerateOptions options;
  options.kinds = s1::data::parse_task_kinds("add,count");
  options.difficulties = s1::data::parse_difficulties("2-3");
  for (uint64_t i = 0; i < 100; ++i) {
    Task task = s1::data::generate_task(options, i);
    EXPECT_TRUE(task.kind == TaskKind::add || task.kind == TaskKind::count);
    EXPECT_TRUE(task.difficulty == 2 || task.difficulty == 3);
  }
  EXPECT_EQ(s1::data::parse_difficulties("1,3-5"), (std::vector<int>{1, 3, 4, 5}));
  EXPECT_THROW(s1::data::parse_difficulties("0-2"), s1::Error);
  EXPECT_THROW(s1::data::parse_difficulties("3-1"), s1::Error);
  EXPECT_THROW(s1::data::parse_difficulties("x"), s1::Error);
  EXPECT_THROW(s1::data::parse_task_kinds("add,divide"), s1::Error);
  EXPECT_EQ(s1::data::parse_task_kinds("all").size(), 7u);
}

// Low difficulties stay short enough for a tiny model's context.
TEST(DataTasks, EasyTracesAreShort) {
  for (TaskKind kind : s1::data::all_task_kinds()) {
    size_t longest = 0;
    for (uint64_t seed = 1; seed <= 50; ++seed)
      longest = std::max(longest, s1::data::generate_task(kind, 1, seed, 0.0).thinking.size());
    EXPECT_LT(longest, 700u) << s1::data::task_kind_name(kind);
  }
}

TEST(DataTasks, CliWritesTheSameFileTwice) {
  auto dir = s1test::temp_dir("data-generate");
  const std::string a = (dir / "a.jsonl").string(), b = (dir / "b.jsonl").string();
  for (const auto& out : {a, b}) {
    auto run = s1test::run_s1({"data", "generate", "--n", "30", "--seed", "8", "--kinds", "word,order", "--difficulty",
                               "2,4", "--slip-rate", "0.5", "-o", out});
    ASSERT_EQ(run.exit_code, 0) << run.err;
  }
  EXPECT_EQ(s1test::read_file(a), s1test::read_file(b));
  auto rows = s1::data::read_jsonl(a);
  ASSERT_EQ(rows.size(), 30u);
  for (const auto& row : rows) {
    EXPECT_TRUE(row["kind"] == "word" || row["kind"] == "order") << row.dump();
    EXPECT_TRUE(row["difficulty"] == 2 || row["difficulty"] == 4) << row.dump();
  }
  auto run = s1test::run_s1({"data", "generate", "--kinds", "add,poetry", "-o", a});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("unknown task kind 'poetry'"), std::string::npos) << run.err;
  run = s1test::run_s1({"data", "generate", "--slip-rate", "2", "-o", a});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("--slip-rate"), std::string::npos) << run.err;
}

}  // namespace
