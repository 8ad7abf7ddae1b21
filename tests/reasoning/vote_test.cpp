// Voting, and the adaptive vote's stopping rule against its definition: the
// probability that the leader's share beats the runner-up's under a uniform
// prior, integrated numerically from the Beta density (the outside truth for
// the closed form the code uses), and the "cannot be overtaken" bound.
#include <gtest/gtest.h>

#include <cmath>

#include "reasoning/vote.h"

namespace s1 {
namespace {

// P(Beta(a+1, b+1) > 1/2) by the midpoint rule over (1/2, 1).
double beta_tail_numerically(int a, int b) {
  const int steps = 200000;
  double inside = 0, total = 0;
  for (int i = 0; i < 2 * steps; ++i) {
    const double x = (i + 0.5) / (2.0 * steps);
    const double density = std::pow(x, a) * std::pow(1 - x, b);
    total += density;
    if (x > 0.5) inside += density;
  }
  return inside / total;
}

std::vector<VoteCandidate> answers(std::initializer_list<const char*> texts) {
  std::vector<VoteCandidate> out;
  for (const char* t : texts) out.push_back({t ? std::optional<std::string>(t) : std::nullopt, 0});
  return out;
}

TEST(Vote, LeaderProbabilityIsTheBetaPosteriorTail) {
  EXPECT_DOUBLE_EQ(leader_probability(0, 0), 0.5);
  EXPECT_DOUBLE_EQ(leader_probability(1, 0), 0.75);
  EXPECT_NEAR(leader_probability(4, 0), 31.0 / 32, 1e-12);
  EXPECT_NEAR(leader_probability(2, 1), 11.0 / 16, 1e-12);
  for (auto [a, b] : {std::pair{3, 1}, {7, 2}, {10, 9}, {40, 25}})
    EXPECT_NEAR(leader_probability(a, b), beta_tail_numerically(a, b), 1e-6) << a << " vs " << b;
}

TEST(Vote, SettledWhenTheLeaderCannotBeOvertakenOrIsLikelyEnough) {
  // 3 for "4", none else, 2 to come: 3 > 0 + 2, whatever the confidence.
  EXPECT_TRUE(vote_settled(answers({"4", "4", "4"}), 2, 0.999));
  // 3 to come could tie it: open at a high confidence; 15/16 = 0.9375 settles at 0.9.
  EXPECT_FALSE(vote_settled(answers({"4", "4", "4"}), 3, 0.95));
  EXPECT_TRUE(vote_settled(answers({"4", "4", "4"}), 3, 0.9));
  // Equivalent answers vote together; unparsed samples do not vote.
  EXPECT_TRUE(vote_settled(answers({"4", "4.0", "\\frac{8}{2}", "4", nullptr}), 12, 0.95));
  EXPECT_FALSE(vote_settled(answers({"4", "5", "4", "5"}), 12, 0.95));
  EXPECT_FALSE(vote_settled(answers({nullptr, nullptr}), 1, 0.95));
  EXPECT_TRUE(vote_settled(answers({nullptr, nullptr}), 0, 0.95)) << "nothing left to wait for";
  // The adaptive method votes as majority does.
  const auto mixed = answers({"5", "4", "4"});
  EXPECT_EQ(*vote(mixed, VoteMethod::adaptive).answer, "4");
  EXPECT_EQ(parse_vote_method("adaptive"), VoteMethod::adaptive);
}

}  // namespace
}  // namespace s1
