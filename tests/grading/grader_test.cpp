#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <numbers>
#include <random>
#include <string>

#include "grading/answer.h"
#include "grading/latex_eval.h"
#include "support/test_support.h"

namespace {

using s1::AnswerStyle;
using s1::Verdict;

std::vector<nlohmann::json> read_jsonl(const std::filesystem::path& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << path;
  std::vector<nlohmann::json> rows;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) rows.push_back(nlohmann::json::parse(line));
  return rows;
}

Verdict verdict_named(const std::string& name) {
  if (name == "correct") return Verdict::correct;
  if (name == "wrong") return Verdict::wrong;
  if (name == "unparsed") return Verdict::unparsed;
  throw std::runtime_error("unknown verdict " + name);
}

TEST(GraderCases, EveryCaseInTheCorpus) {
  auto rows = read_jsonl(s1test::source_dir() / "tests/grading/data/grader_cases.jsonl");
  ASSERT_GE(rows.size(), 220u);
  int failures = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& row = rows[i];
    auto style = row.value("style", "") == "choice" ? AnswerStyle::multiple_choice : AnswerStyle::math;
    std::string prediction = row["prediction"], reference = row["reference"];
    Verdict got = s1::grade(prediction, reference, style);
    if (got != verdict_named(row["verdict"])) {
      ++failures;
      ADD_FAILURE() << "case " << i + 1 << ": expected " << row["verdict"] << ", got " << s1::to_string(got)
                    << "\n  prediction: " << prediction << "\n  reference:  " << reference
                    << "\n  extracted:  " << s1::extract_answer(prediction, style).value_or("(none)");
    }
  }
  EXPECT_EQ(failures, 0);
}

TEST(GraderCases, EveryMath500ReferenceGradesItselfCorrect) {
  auto path = s1test::shared_dir() / "datasets/math500.jsonl";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not present";
  auto rows = read_jsonl(path);
  ASSERT_EQ(rows.size(), 500u);
  for (const auto& row : rows) {
    std::string answer = row["answer"];
    EXPECT_EQ(s1::grade("So the answer is $\\boxed{" + answer + "}$.", answer), Verdict::correct) << answer;
  }
}

TEST(ExtractAnswer, LastBoxedWithNestedBraces) {
  EXPECT_EQ(s1::extract_answer("\\boxed{1} then \\boxed{\\frac{\\sqrt{3}}{2}} done"), "\\frac{\\sqrt{3}}{2}");
  EXPECT_EQ(s1::extract_answer("\\fbox{x^{2}}"), "x^{2}");
  EXPECT_EQ(s1::extract_answer("is \\boxed 7."), "7.");
  EXPECT_EQ(s1::extract_answer("\\boxed{\\{1,2\\}}"), "\\{1,2\\}");
  // An unclosed last box (a cut-off output) falls back to the one before it.
  EXPECT_EQ(s1::extract_answer("\\boxed{3} and \\boxed{\\frac{1}{"), "3");
}

TEST(ExtractAnswer, PhrasesGsm8kAndLastNumber) {
  EXPECT_EQ(s1::extract_answer("Final Answer: The final answer is $12$. I hope it is correct."), "12");
  EXPECT_EQ(s1::extract_answer("so the final answer is 3.5."), "3.5");
  EXPECT_EQ(s1::extract_answer("**Final Answer**\n\n$$x^2$$"), "x^2");
  EXPECT_EQ(s1::extract_answer("48 + 24 = 72\n#### 72"), "72");
  EXPECT_EQ(s1::extract_answer("Therefore, the answer is 8 cm."), "8 cm");
  EXPECT_EQ(s1::extract_answer("we get 3, then 1,250 and finally -0.75."), "-0.75");
  EXPECT_EQ(s1::extract_answer("it costs 1,250 dollars"), "1,250");
  EXPECT_EQ(s1::extract_answer("about 3/4 of them"), "3/4");
  EXPECT_EQ(s1::extract_answer("no numbers here"), std::nullopt);
  EXPECT_EQ(s1::extract_answer(""), std::nullopt);
}

TEST(ExtractAnswer, MultipleChoiceLetters) {
  auto choice = [](std::string_view text) { return s1::extract_answer(text, AnswerStyle::multiple_choice); };
  EXPECT_EQ(choice("so \\boxed{C}"), "C");
  EXPECT_EQ(choice("so \\boxed{\\text{(D)}}"), "D");
  EXPECT_EQ(choice("Answer: B"), "B");
  EXPECT_EQ(choice("The answer is (A) 12."), "A");
  EXPECT_EQ(choice("Options (A) and (B) fail; only (E) works"), "E");
  EXPECT_EQ(choice("The answer is Bob"), std::nullopt);
  EXPECT_EQ(choice("nothing"), std::nullopt);
}

TEST(NormalizeAnswer, CanonicalForms) {
  EXPECT_EQ(s1::normalize_answer("\\left( \\dfrac12, 3 \\right)"), "(\\frac{1}{2},3)");
  EXPECT_EQ(s1::normalize_answer("10,\\!080"), "10080");
  EXPECT_EQ(s1::normalize_answer("(10,080)"), "(10,080)");
  EXPECT_EQ(s1::normalize_answer("\\$5.40"), "5.40");
  EXPECT_EQ(s1::normalize_answer("30^{\\circ}"), "30");
  EXPECT_EQ(s1::normalize_answer("15\\mbox{ cm}^2"), "15");
  EXPECT_EQ(s1::normalize_answer("x \\in [1, 2)"), "[1,2)");
  EXPECT_EQ(s1::normalize_answer("4210_{5}"), "4210_5");
  EXPECT_EQ(s1::normalize_answer("\\text{(B)}"), "B");
  EXPECT_EQ(s1::normalize_answer("\\text{East}"), "east");
  EXPECT_EQ(s1::normalize_answer("\\sqrt2+\\infty"), "\\sqrt{2}+\\infty");
  EXPECT_EQ(s1::normalize_answer(".5"), "0.5");
  EXPECT_EQ(s1::normalize_answer("50\\%"), "50");
}

TEST(LatexEval, ArithmeticSubset) {
  auto value = [](std::string_view expr) { return s1::evaluate_latex(expr).value_or(-999.0); };
  EXPECT_DOUBLE_EQ(value("\\frac{1}{2}"), 0.5);
  EXPECT_DOUBLE_EQ(value("\\frac12"), 0.5);
  EXPECT_DOUBLE_EQ(value("-\\frac{3}{4}+1"), 0.25);
  EXPECT_DOUBLE_EQ(value("2^{10}"), 1024.0);
  EXPECT_DOUBLE_EQ(value("-2^2"), -4.0);
  EXPECT_DOUBLE_EQ(value("2\\cdot3+4\\times5-6\\div3"), 24.0);
  EXPECT_DOUBLE_EQ(value("(1+2)(3+4)"), 21.0);
  EXPECT_DOUBLE_EQ(value("1\\frac{4}{5}"), 1.8);
  EXPECT_DOUBLE_EQ(value("\\sqrt[3]{27}"), 3.0);
  EXPECT_NEAR(value("2\\sqrt{3}"), 2 * std::sqrt(3.0), 1e-12);
  EXPECT_NEAR(value("\\frac{\\pi}{2}"), std::numbers::pi / 2, 1e-12);
  EXPECT_DOUBLE_EQ(*s1::evaluate_latex("3x^2+y", {{'x', 2.0}, {'y', 1.0}}), 13.0);
  std::set<char> used;
  EXPECT_TRUE(s1::evaluate_latex("ab+2c", {}, &used));
  EXPECT_EQ(used, (std::set<char>{'a', 'b', 'c'}));
  for (std::string_view outside : {"", "1,2", "\\cot x", "ellipse", "2i", "(1", "1+", "\\frac{1}", "1011_2", "x=1"})
    EXPECT_FALSE(s1::evaluate_latex(outside)) << outside;
}

TEST(Grade, ReferenceForms) {
  EXPECT_EQ(s1::grade("#### 72", "Natalia sold 48 + 24 = 72 clips.\n#### 72"), Verdict::correct);
  EXPECT_EQ(s1::grade("\\boxed{B}", "\\text{(B)}"), Verdict::correct);
  EXPECT_EQ(s1::grade("\\boxed{12}", "\\text{(B)}"), Verdict::unparsed);
  EXPECT_STREQ(s1::to_string(Verdict::wrong), "wrong");
}

// Arbitrary bytes must never throw, crash or hang.
TEST(Grade, SurvivesArbitraryInput) {
  std::mt19937 gen(1);
  const std::string alphabet = "\\{}()[]$^_,.-+/0123456789 abcxe#:boxedfracsqrtleftright\n";
  for (int i = 0; i < 3000; ++i) {
    std::string a, b;
    for (int k = int(gen() % 60); k > 0; --k) a += alphabet[gen() % alphabet.size()];
    for (int k = int(gen() % 30); k > 0; --k) b += alphabet[gen() % alphabet.size()];
    EXPECT_NO_THROW(s1::grade(a, b));
    EXPECT_NO_THROW(s1::grade(a, b, AnswerStyle::multiple_choice));
  }
  EXPECT_NO_THROW(s1::grade("\\boxed{" + std::string(100000, '(') + "}", "1"));
  EXPECT_NO_THROW(s1::grade("\\boxed{" + std::string(100000, '-') + "1}", "1"));
}

}  // namespace
