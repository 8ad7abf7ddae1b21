// The examples that teach budget forcing (data/augment.h): checks state true
// arithmetic and find exactly the wrong results, repairs end on the right
// answer, cuts fall on token boundaries of a real BPE tokenizer, and earlier
// turns go before the question.
#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "data/augment.h"
#include "data/tasks.h"
#include "gguf/gguf.h"
#include "support/test_support.h"
#include "tokenizer/tokenizer.h"

namespace {

using s1::data::TaskKind;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string last_number(const std::string& line) {
  static const std::regex number(R"(\d+)");
  std::string last;
  for (auto it = std::sregex_iterator(line.begin(), line.end(), number); it != std::sregex_iterator(); ++it) last = it->str();
  return last;
}

int64_t apply(int64_t a, char op, int64_t b) { return op == '+' ? a + b : op == '-' ? a - b : a * b; }

// Every check in `thinking`: its "So" line is true arithmetic, and it reports a
// match exactly when the inverse gives back the operand. Returns the verdicts.
std::vector<bool> verify_checks(const std::string& thinking) {
  static const std::regex check(R"(^Check: (\d+)([-+/])(\d+) should be (\d+)\.$)");
  static const std::regex result(R"(^So (\d+)([-+/])(\d+)=(\d+)(?: remainder (\d+))?\.$)");
  const auto lines = lines_of(thinking);
  std::vector<bool> verdicts;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::smatch c;
    if (!std::regex_match(lines[i], c, check)) continue;
    EXPECT_EQ(lines[i - 1], "Wait, let me check the answer.") << thinking;
    const int64_t x = std::stoll(c[1]), y = std::stoll(c[3]), expected = std::stoll(c[4]);
    const char op = c[2].str()[0];
    size_t j = i + 1;
    while (j < lines.size() && lines[j].rfind("That ", 0) != 0) ++j;
    if (j == lines.size()) {
      ADD_FAILURE() << "a check with no verdict: " << thinking;
      break;
    }
    int64_t value = -1, remainder = 0;
    std::smatch r;
    if (std::regex_match(lines[j - 1], r, result)) {
      value = std::stoll(r[4]);
      remainder = r[5].matched ? std::stoll(r[5]) : 0;
      if (op == '/') {
        EXPECT_EQ(value * y + remainder, x) << lines[j - 1];
        EXPECT_LT(remainder, y);
      } else {
        EXPECT_EQ(op == '+' ? x + y : x - y, value) << lines[j - 1];
      }
    } else {
      EXPECT_LT(x, y) << "a check without a result line only for a difference below zero: " << lines[j - 1];
    }
    const bool matches = value == expected && remainder == 0;
    if (matches)
      EXPECT_EQ(lines[j], "That matches.") << thinking;
    else
      EXPECT_EQ(lines[j].rfind("That does not match, so", 0), 0u) << thinking;
    verdicts.push_back(matches);
  }
  return verdicts;
}

std::vector<s1::data::Task> slip_free_tasks() {
  std::vector<s1::data::Task> tasks;
  for (TaskKind kind : {TaskKind::add, TaskKind::sub, TaskKind::mul, TaskKind::word})
    for (int difficulty = 1; difficulty <= 3; ++difficulty)
      for (uint64_t seed = 1; seed <= 12; ++seed) tasks.push_back(s1::data::generate_task(kind, difficulty, seed, 0.0));
  return tasks;
}

TEST(DataAugment, ReChecksConfirmTheResultAndRestateIt) {
  for (const auto& task : slip_free_tasks()) {
    const auto step = s1::data::last_checkable_step(task.thinking);
    ASSERT_TRUE(step) << task.thinking;
    EXPECT_EQ(apply(step->a, step->op, step->b), step->result) << task.thinking;
    const auto twice = s1::data::with_rechecks(task.thinking, 2);
    ASSERT_TRUE(twice);
    EXPECT_EQ(twice->rfind(task.thinking, 0), 0u);
    EXPECT_EQ(verify_checks(*twice), (std::vector<bool>{true, true})) << *twice;
    EXPECT_EQ(lines_of(*twice).back(), lines_of(task.thinking).back());
  }
}

TEST(DataAugment, RepairsCatchTheWrongResultAndEndOnTheAnswer) {
  s1::data::Rng rng(5);
  for (const auto& task : slip_free_tasks()) {
    for (bool confirm : {false, true}) {
      const auto repaired = s1::data::with_repaired_error(task.thinking, rng, confirm);
      ASSERT_TRUE(repaired);
      const auto verdicts = verify_checks(*repaired);
      const std::vector<bool> expected = confirm ? std::vector<bool>{false, true} : std::vector<bool>{false};
      EXPECT_EQ(verdicts, expected) << *repaired;
      // Before the "Wait" the trace states a wrong answer; it ends on the right one.
      const std::string before_wait = repaired->substr(0, repaired->find("\nWait, let me check the answer."));
      EXPECT_NE(last_number(lines_of(before_wait).back()), task.answer) << before_wait;
      EXPECT_EQ(lines_of(*repaired).back(), lines_of(task.thinking).back()) << *repaired;
      EXPECT_NE(repaired->find("Work out "), std::string::npos);
    }
  }
}

TEST(DataAugment, ProductsByTwoDigitsAreNotChecked) {
  const auto task = s1::data::generate_task(TaskKind::mul, 4, 3, 0.0);  // 2x2 digits: a split and a sum
  const auto step = s1::data::last_checkable_step(task.thinking);
  ASSERT_TRUE(step);
  EXPECT_EQ(step->op, '+') << "the sum of the partial products is checked, not the two-digit product";
  EXPECT_FALSE(s1::data::last_checkable_step("Go through the digits.\nSo 7 appears 2 times."));
}

// A budget cuts the thinking between two tokens: the cut text's tokens are the
// full text's first tokens, for the real Qwen2 BPE (whose pre-tokenizer the
// bundled model's vocabulary uses too).
TEST(DataAugment, CutsFallOnTokenBoundaries) {
  auto file = s1::gguf::File::open((s1test::shared_dir() / "tokenizer/ggml-vocab-qwen2.gguf").string());
  const s1::Tokenizer tokenizer = s1::Tokenizer::from_gguf(file);
  s1::data::Rng rng(9);
  size_t empty = 0, whole = 0, cuts = 0;
  for (const auto& task : slip_free_tasks()) {
    const std::string full = "\n" + *s1::data::with_rechecks(task.thinking, 1);
    const auto full_ids = tokenizer.encode(full);
    for (int i = 0; i < 8; ++i) {
      const std::string cut = s1::data::cut_thinking(full.substr(1), rng);
      ASSERT_EQ(full.rfind(cut, 0), 0u);
      const auto ids = tokenizer.encode(cut);
      ASSERT_LE(ids.size(), full_ids.size());
      EXPECT_TRUE(std::equal(ids.begin(), ids.end(), full_ids.begin())) << "cut after: [" << cut << "]";
      empty += cut.empty();
      whole += cut == full;
      ++cuts;
    }
  }
  EXPECT_GT(cuts - empty - whole, cuts * 9 / 10);  // most cuts fall inside the thinking
}

TEST(DataAugment, EarlierTurnsGoFirstAndAreNotLearned) {
  s1::data::GenerateOptions options;
  options.seed = 3;
  options.kinds = {TaskKind::add};
  nlohmann::json record = s1::data::generate_task(options, 7).to_json();
  const auto earlier = s1::data::earlier_tasks(options, 7, 2, 4);
  ASSERT_EQ(earlier.size(), 2u);
  EXPECT_EQ(earlier, s1::data::earlier_tasks(options, 7, 2, 4));
  EXPECT_NE(earlier[0]["question"], record["question"]);
  EXPECT_NE(earlier[0]["question"], earlier[1]["question"]);
  s1::data::prepend_history(record, earlier);
  const auto& messages = record["messages"];
  ASSERT_EQ(messages.size(), 6u);
  EXPECT_EQ(messages[0]["content"], earlier[0]["question"]);
  EXPECT_EQ(messages[1]["content"], earlier[0]["answer_text"]);
  EXPECT_EQ(messages[1]["weight"], 0);
  EXPECT_EQ(messages[4]["content"], record["question"]);
  EXPECT_FALSE(messages[5].contains("weight"));
  ASSERT_EQ(record["history"].size(), 4u);
  EXPECT_EQ(record["history"][3], (nlohmann::json{{"role", "assistant"}, {"content", earlier[1]["answer_text"]}}));

  s1::data::set_thinking(record, "\nSo 1+", /*cut=*/true);
  EXPECT_EQ(messages[5]["thinking"], "\nSo 1+");
  EXPECT_EQ(messages[5]["thinking_cut"], true);
  EXPECT_FALSE(messages[1].contains("thinking"));
}

}  // namespace
