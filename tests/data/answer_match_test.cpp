#include <gtest/gtest.h>

#include "data/answer_match.h"

namespace {

using s1::data::exact_match;
using s1::data::extract_final_answer;
using s1::data::normalize_exact;

TEST(DataAnswerMatch, ExtractsTheLastBoxedOrStatedAnswer) {
  EXPECT_EQ(extract_final_answer("The answer is \\boxed{4803}."), "4803");
  EXPECT_EQ(extract_final_answer("\\boxed{1} then \\boxed{\\frac{1}{2}}"), "\\frac{1}{2}");
  EXPECT_EQ(extract_final_answer("So the answer is: 42.\n"), "42");
  EXPECT_EQ(extract_final_answer("I think the answer is 7"), "7");
  EXPECT_EQ(extract_final_answer("\\boxed{12"), std::nullopt);
  EXPECT_EQ(extract_final_answer("no idea"), std::nullopt);
  EXPECT_EQ(extract_final_answer("the answer is ."), std::nullopt);
}

TEST(DataAnswerMatch, NormalizesNumbersAndShortStrings) {
  EXPECT_EQ(normalize_exact(" 1,000 "), "1000");
  EXPECT_EQ(normalize_exact("+007"), "7");
  EXPECT_EQ(normalize_exact("-0"), "0");
  EXPECT_EQ(normalize_exact("3.50"), "3.5");
  EXPECT_EQ(normalize_exact("0.5"), "0.5");
  EXPECT_EQ(normalize_exact("$12$"), "12");
  EXPECT_EQ(normalize_exact("x = 5"), "5");
  EXPECT_EQ(normalize_exact("Blue Whale."), "bluewhale");
  EXPECT_TRUE(exact_match("The answer is \\boxed{0012}.", "12"));
  EXPECT_TRUE(exact_match("the answer is x=3", "3"));
  EXPECT_FALSE(exact_match("The answer is \\boxed{13}.", "12"));
  EXPECT_FALSE(exact_match("12", "12"));  // nothing stated as the answer
}

}  // namespace
