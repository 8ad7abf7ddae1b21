#include "sampling/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <set>
#include <vector>

#include "support/test_support.h"
#include "util/error.h"

namespace {

using s1::Sampler;
using s1::SamplingParams;

const float kNegInf = -std::numeric_limits<float>::infinity();

// Logits whose softmax is exactly `probs`.
std::vector<float> logits_for(const std::vector<double>& probs) {
  std::vector<float> logits;
  for (double p : probs) logits.push_back(float(std::log(p)));
  return logits;
}

std::vector<float> random_logits(int n, uint32_t seed) { return s1test::gaussian_values(n, 3.0f, seed); }

// Plain sampling: every truncation off, temperature 1, fixed seed.
SamplingParams plain(uint64_t seed = 1) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.seed = seed;
  return p;
}

std::vector<double> frequencies(Sampler& sampler, const std::vector<float>& logits, int draws) {
  std::vector<double> freq(logits.size(), 0.0);
  for (int i = 0; i < draws; ++i) freq[size_t(sampler.sample(logits.data(), int(logits.size())))] += 1.0 / draws;
  return freq;
}

void expect_frequencies(const std::vector<double>& freq, const std::vector<double>& expected) {
  ASSERT_EQ(freq.size(), expected.size());
  for (size_t t = 0; t < freq.size(); ++t) {
    if (expected[t] == 0.0) {
      EXPECT_EQ(freq[t], 0.0) << "token " << t << " is outside the kept set but was drawn";
    } else {
      EXPECT_NEAR(freq[t], expected[t], 0.015) << "token " << t;
    }
  }
}

size_t argmax(const std::vector<float>& v) { return size_t(std::max_element(v.begin(), v.end()) - v.begin()); }

TEST(Sampler, DefaultsAreLlamaCpps) {
  SamplingParams p;
  EXPECT_FLOAT_EQ(p.temperature, 0.8f);
  EXPECT_EQ(p.top_k, 40);
  EXPECT_FLOAT_EQ(p.top_p, 0.95f);
  EXPECT_FLOAT_EQ(p.min_p, 0.05f);
  EXPECT_FLOAT_EQ(p.repeat_penalty, 1.0f);
  EXPECT_EQ(p.repeat_last_n, 64);
  EXPECT_FALSE(p.seed.has_value());
}

TEST(Sampler, GreedyIsArgmax) {
  SamplingParams p;
  p.temperature = 0.0f;
  Sampler sampler(p);
  for (uint32_t seed = 0; seed < 20; ++seed) {
    auto logits = random_logits(5000, seed);
    auto choice = sampler.sample_choice(logits.data(), int(logits.size()));
    EXPECT_EQ(size_t(choice.token), argmax(logits));
    EXPECT_EQ(choice.logprob, 0.0f);
  }
}

TEST(Sampler, TopKOneIsGreedy) {
  SamplingParams p = plain(7);
  p.top_k = 1;
  Sampler sampler(p);
  for (uint32_t seed = 0; seed < 20; ++seed) {
    auto logits = random_logits(5000, seed);
    EXPECT_EQ(size_t(sampler.sample(logits.data(), int(logits.size()))), argmax(logits));
  }
}

std::vector<int> draw_sequence(uint64_t seed, int n) {
  SamplingParams p;
  p.seed = seed;
  p.top_k = 0;
  p.top_p = 0.99f;
  Sampler sampler(p);
  auto logits = random_logits(2000, 3);
  for (auto& l : logits) l *= 0.3f;  // flat enough that many tokens are drawn
  std::vector<int> tokens;
  for (int i = 0; i < n; ++i) tokens.push_back(sampler.sample(logits.data(), int(logits.size())));
  return tokens;
}

TEST(Sampler, SameSeedSameSequence) { EXPECT_EQ(draw_sequence(42, 200), draw_sequence(42, 200)); }

TEST(Sampler, DifferentSeedsDiffer) { EXPECT_NE(draw_sequence(42, 200), draw_sequence(43, 200)); }

TEST(Sampler, ResetReplaysTheSequence) {
  SamplingParams p = plain(9);
  Sampler sampler(p);
  auto logits = random_logits(100, 1);
  std::vector<int> first, second;
  for (int i = 0; i < 50; ++i) first.push_back(sampler.sample(logits.data(), 100));
  sampler.reset();
  for (int i = 0; i < 50; ++i) second.push_back(sampler.sample(logits.data(), 100));
  EXPECT_EQ(first, second);
}

// The RNG (mt19937_64) and the draw are fully specified, so a seed gives the
// same tokens on every machine and standard library.
TEST(Sampler, SeededSequenceIsPinned) {
  Sampler sampler(plain(1234));
  auto logits = logits_for({0.1, 0.2, 0.3, 0.4});
  std::vector<int> tokens;
  for (int i = 0; i < 12; ++i) tokens.push_back(sampler.sample(logits.data(), 4));
  EXPECT_EQ(tokens, (std::vector<int>{3, 0, 3, 3, 1, 3, 3, 3, 0, 3, 3, 1}));
}

TEST(Sampler, PlainSamplingFollowsSoftmax) {
  Sampler sampler(plain(11));
  std::vector<double> probs{0.1, 0.2, 0.3, 0.4};
  expect_frequencies(frequencies(sampler, logits_for(probs), 20000), probs);
}

TEST(Sampler, TemperatureSharpens) {
  SamplingParams p = plain(12);
  p.temperature = 0.5f;
  Sampler sampler(p);
  // softmax(log(q) / 0.5) is proportional to q^2.
  std::vector<double> q{0.1, 0.2, 0.3, 0.4};
  std::vector<double> expected;
  for (double x : q) expected.push_back(x * x / 0.3);
  expect_frequencies(frequencies(sampler, logits_for(q), 20000), expected);
}

TEST(Sampler, TopKKeepsTheKMostLikely) {
  SamplingParams p = plain(13);
  p.top_k = 2;
  Sampler sampler(p);
  expect_frequencies(frequencies(sampler, logits_for({0.1, 0.2, 0.3, 0.4}), 20000), {0, 0, 0.3 / 0.7, 0.4 / 0.7});
}

TEST(Sampler, TopPKeepsTheSmallestSetReachingP) {
  std::vector<double> probs{0.05, 0.5, 0.15, 0.3};
  {
    SamplingParams p = plain(14);
    p.top_p = 0.75f;  // 0.5 + 0.3 reaches it
    Sampler sampler(p);
    expect_frequencies(frequencies(sampler, logits_for(probs), 20000), {0, 0.5 / 0.8, 0, 0.3 / 0.8});
  }
  {
    SamplingParams p = plain(15);
    p.top_p = 0.85f;  // needs the 0.15 too
    Sampler sampler(p);
    expect_frequencies(frequencies(sampler, logits_for(probs), 20000), {0, 0.5 / 0.95, 0.15 / 0.95, 0.3 / 0.95});
  }
  {
    SamplingParams p = plain(16);
    p.top_p = 0.0f;  // always keeps one token
    Sampler sampler(p);
    expect_frequencies(frequencies(sampler, logits_for(probs), 2000), {0, 1, 0, 0});
  }
}

TEST(Sampler, MinPKeepsTokensNearTheTop) {
  std::vector<double> probs{0.05, 0.5, 0.15, 0.3};
  {
    SamplingParams p = plain(17);
    p.min_p = 0.2f;  // threshold 0.1
    Sampler sampler(p);
    expect_frequencies(frequencies(sampler, logits_for(probs), 20000), {0, 0.5 / 0.95, 0.15 / 0.95, 0.3 / 0.95});
  }
  {
    SamplingParams p = plain(18);
    p.min_p = 0.5f;  // threshold 0.25
    Sampler sampler(p);
    expect_frequencies(frequencies(sampler, logits_for(probs), 20000), {0, 0.5 / 0.8, 0, 0.3 / 0.8});
  }
}

// Without top-k the nucleus is found by sorting only a growing prefix of the
// vocabulary; the kept set and the reported log-prob must match a full sort.
TEST(Sampler, TopPOnALargeVocabularyMatchesAFullSort) {
  const int n_vocab = 152064;
  auto logits = random_logits(n_vocab, 5);
  SamplingParams p = plain(19);
  p.top_p = 0.9f;
  p.temperature = 0.7f;
  Sampler sampler(p);

  std::vector<int> order(static_cast<size_t>(n_vocab));
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return logits[size_t(a)] > logits[size_t(b)]; });
  const double max = logits[size_t(order[0])];
  double total = 0.0;
  for (float l : logits) total += std::exp(l - max);
  std::set<int> nucleus;
  double cumulative = 0.0;
  for (int t : order) {
    nucleus.insert(t);
    cumulative += std::exp(logits[size_t(t)] - max);
    if (cumulative >= 0.9 * total) break;
  }
  ASSERT_GT(nucleus.size(), 20u);
  double kept_total = 0.0;
  for (int t : nucleus) kept_total += std::exp((logits[size_t(t)] - max) / 0.7);

  std::set<int> drawn;
  for (int i = 0; i < 100; ++i) {
    auto choice = sampler.sample_choice(logits.data(), n_vocab);
    ASSERT_TRUE(nucleus.count(choice.token)) << "token " << choice.token << " is outside the nucleus";
    drawn.insert(choice.token);
    double expected = (logits[size_t(choice.token)] - max) / 0.7 - std::log(kept_total);
    EXPECT_NEAR(choice.logprob, expected, 1e-4);
    EXPECT_NEAR(choice.raw_logprob, logits[size_t(choice.token)] - max - std::log(total), 1e-4);
  }
  EXPECT_GT(drawn.size(), 10u);
}

TEST(Sampler, LogprobsOfTheFinalAndRawDistributions) {
  SamplingParams p = plain(20);
  p.temperature = 2.0f;
  p.logit_bias[0] = 1.0f;
  Sampler sampler(p);
  auto logits = logits_for({0.25, 0.75});
  for (int i = 0; i < 50; ++i) {
    auto choice = sampler.sample_choice(logits.data(), 2);
    // Final: softmax((log p + bias) / 2); raw: the model's own probabilities.
    double a = (std::log(0.25) + 1.0) / 2.0, b = std::log(0.75) / 2.0;
    double final_p = std::exp(choice.token == 0 ? a : b) / (std::exp(a) + std::exp(b));
    EXPECT_NEAR(choice.logprob, std::log(final_p), 1e-5);
    EXPECT_NEAR(choice.raw_logprob, std::log(choice.token == 0 ? 0.25 : 0.75), 1e-5);
  }
}

// With two tokens and plain sampling, a drawn token's log-prob reveals the
// logit difference the penalties produced.
double penalized_gap(SamplingParams p, std::vector<float> logits, const std::vector<int>& history) {
  Sampler sampler(p);
  for (int t : history) sampler.accept(t);
  for (;;) {
    auto choice = sampler.sample_choice(logits.data(), 2);
    if (choice.token == 0) return std::log(std::exp(-double(choice.logprob)) - 1.0);  // = l1 - l0
  }
}

TEST(Sampler, RepeatPenaltyDividesPositiveAndMultipliesNegativeLogits) {
  SamplingParams p = plain(21);
  p.repeat_penalty = 1.25f;
  EXPECT_NEAR(penalized_gap(p, {2.0f, 1.0f}, {0}), 1.0 - 2.0 / 1.25, 1e-4);
  EXPECT_NEAR(penalized_gap(p, {-2.0f, -1.0f}, {0}), -1.0 - (-2.0 * 1.25), 1e-4);
  EXPECT_NEAR(penalized_gap(p, {2.0f, 1.0f}, {0, 0, 0}), 1.0 - 2.0 / 1.25, 1e-4);  // no compounding
  EXPECT_NEAR(penalized_gap(p, {2.0f, 1.0f}, {}), 1.0 - 2.0, 1e-4);
}

TEST(Sampler, FrequencyAndPresencePenaltiesSubtract) {
  SamplingParams p = plain(22);
  p.frequency_penalty = 0.25f;
  p.presence_penalty = 0.5f;
  // token 0 seen 3 times: 2 - 3 * 0.25 - 0.5; token 1 seen once: 1 - 0.25 - 0.5.
  EXPECT_NEAR(penalized_gap(p, {2.0f, 1.0f}, {0, 1, 0, 0}), (1.0 - 0.75) - (2.0 - 1.25), 1e-4);
}

TEST(Sampler, PenaltiesOnlySeeTheLastNTokens) {
  SamplingParams p = plain(23);
  p.presence_penalty = 1.0f;
  p.repeat_last_n = 3;
  EXPECT_NEAR(penalized_gap(p, {2.0f, 1.0f}, {0, 5, 5}), 1.0 - 1.0, 1e-4);
  EXPECT_NEAR(penalized_gap(p, {2.0f, 1.0f}, {0, 5, 5, 5}), 1.0 - 2.0, 1e-4);
  p.repeat_last_n = 0;
  EXPECT_NEAR(penalized_gap(p, {2.0f, 1.0f}, {0}), 1.0 - 2.0, 1e-4);
  p.repeat_last_n = -1;
  std::vector<int> long_history(1000, 5);
  long_history.insert(long_history.begin(), 0);
  EXPECT_NEAR(penalized_gap(p, {2.0f, 1.0f}, long_history), 1.0 - 1.0, 1e-4);
}

TEST(Sampler, GreedySeesPenaltiesAndBias) {
  SamplingParams p;
  p.temperature = 0.0f;
  p.repeat_penalty = 1.1f;
  std::vector<float> logits{2.0f, 1.9f, 0.0f};
  {
    Sampler sampler(p);
    EXPECT_EQ(sampler.sample(logits.data(), 3), 0);
    sampler.accept(0);
    EXPECT_EQ(sampler.sample(logits.data(), 3), 1);  // 2 / 1.1 < 1.9
  }
  p.repeat_penalty = 1.0f;
  p.logit_bias[2] = 5.0f;
  Sampler sampler(p);
  EXPECT_EQ(sampler.sample(logits.data(), 3), 2);
}

TEST(Sampler, BannedTokensAreNeverSampled) {
  SamplingParams p = plain(24);
  Sampler sampler(p);
  auto logits = logits_for({0.9, 0.05, 0.05});
  std::vector<int> banned{0};
  for (int i = 0; i < 2000; ++i) ASSERT_NE(sampler.sample(logits.data(), 3, banned), 0);
  EXPECT_EQ(sampler.sample(logits.data(), 3), 0);  // the ban lasts one step

  SamplingParams greedy;
  greedy.temperature = 0.0f;
  Sampler greedy_sampler(greedy);
  EXPECT_EQ(greedy_sampler.sample(logits.data(), 3, banned), 1);
  std::vector<int> all{0, 1, 2};
  EXPECT_THROW(greedy_sampler.sample(logits.data(), 3, all), s1::Error);
}

TEST(Sampler, NegativeInfiniteBiasBans) {
  SamplingParams p = plain(25);
  p.logit_bias[0] = kNegInf;
  Sampler sampler(p);
  auto logits = logits_for({0.9, 0.05, 0.05});
  for (int i = 0; i < 2000; ++i) ASSERT_NE(sampler.sample(logits.data(), 3), 0);
}

TEST(SamplingParams, ValidateRejectsOutOfRange) {
  auto rejects = [](auto change) {
    SamplingParams p;
    change(p);
    EXPECT_THROW(s1::validate(p), s1::Error);
    EXPECT_THROW(Sampler{p}, s1::Error);
  };
  rejects([](SamplingParams& p) { p.temperature = -0.1f; });
  rejects([](SamplingParams& p) { p.top_p = 1.5f; });
  rejects([](SamplingParams& p) { p.min_p = -0.5f; });
  rejects([](SamplingParams& p) { p.top_k = -2; });
  rejects([](SamplingParams& p) { p.repeat_penalty = 0.0f; });
  rejects([](SamplingParams& p) { p.repeat_last_n = -2; });
  rejects([](SamplingParams& p) { p.logit_bias[-1] = 1.0f; });
  EXPECT_NO_THROW(s1::validate(SamplingParams{}));
}

TEST(SamplingParams, ParseLogitBias) {
  std::map<int, float> bias;
  s1::parse_logit_bias("15043+1", bias);
  s1::parse_logit_bias("2-0.5", bias);
  s1::parse_logit_bias("13-inf", bias);
  EXPECT_FLOAT_EQ(bias.at(15043), 1.0f);
  EXPECT_FLOAT_EQ(bias.at(2), -0.5f);
  EXPECT_EQ(bias.at(13), kNegInf);
  for (const char* bad : {"", "15043", "15043*1", "abc+1", "-3+1", "5+", "5+x", "5+1x", "5--1"})
    EXPECT_THROW(s1::parse_logit_bias(bad, bias), s1::Error) << bad;
}

}  // namespace

// The sampler only looks at tokens within a margin of the top logit (widening
// it when too few clear it); tokens far below must still count when bias,
// penalties or bans move them, or when top-k needs more than the margin holds.
TEST(Sampler, TokensFarBelowTheTopStillCount) {
  const int n = 5000;
  std::vector<float> logits(size_t(n), 1.0f);
  logits[100] = 60.0f;
  logits[4000] = -100.0f;

  SamplingParams greedy;
  greedy.temperature = 0.0f;
  greedy.logit_bias[4000] = 500.0f;
  EXPECT_EQ(Sampler(greedy).sample(logits.data(), n), 4000);

  SamplingParams banned_top;
  banned_top.temperature = 0.0f;
  std::vector<int> banned{100};
  EXPECT_EQ(Sampler(banned_top).sample(logits.data(), n, banned), 0);  // ties: the lowest id

  // Top-k 3 with one token far ahead: the other two are the lowest ids of the
  // tied rest (ranks break ties by id), drawn once the top one is penalized.
  SamplingParams top_k = plain(7);
  top_k.top_k = 3;
  top_k.repeat_penalty = 1e6f;
  Sampler sampler(top_k);
  sampler.accept(100);
  std::set<int> drawn;
  for (int i = 0; i < 300; ++i) drawn.insert(sampler.sample(logits.data(), n));
  EXPECT_EQ(drawn, (std::set<int>{0, 1, 2}));
}

// Nearly flat logits (a random-weight model's) put most of the vocabulary
// within any fixed margin of the top: top-k must still keep exactly the k best.
TEST(Sampler, TopKOnFlatLogitsKeepsExactlyTheKBest) {
  const int n = 20000, k = 40;
  const auto logits = s1test::gaussian_values(n, 0.01f, 11);
  std::vector<int> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + k, order.end(),
                    [&](int a, int b) { return logits[size_t(a)] > logits[size_t(b)]; });
  const std::set<int> best(order.begin(), order.begin() + k);
  SamplingParams p = plain(12);
  p.top_k = k;
  p.temperature = 100.0f;  // nearly uniform over the kept tokens: all of them show up
  Sampler sampler(p);
  std::set<int> drawn;
  for (int i = 0; i < 3000; ++i) drawn.insert(sampler.sample(logits.data(), n));
  EXPECT_EQ(drawn, best);
}

namespace s1 {
namespace {

// top_logprobs against the definition: log softmax in double precision, then
// the k largest, ties by token id.
TEST(TopLogprobs, EqualsTheLogSoftmaxsLargest) {
  std::vector<float> logits = s1test::gaussian_values(5000, 3.0f, 11);
  logits[17] = logits[4000] = 9.0f;  // a tie at the top: the lower id first
  double total = 0;
  for (float l : logits) total += std::exp(double(l));
  std::vector<int> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return logits[size_t(a)] > logits[size_t(b)]; });
  for (int k : {0, 1, 5, 20}) {
    const auto top = top_logprobs(logits.data(), int(logits.size()), k);
    ASSERT_EQ(top.size(), size_t(k));
    for (int i = 0; i < k; ++i) {
      EXPECT_EQ(top[size_t(i)].token, order[size_t(i)]);
      EXPECT_NEAR(top[size_t(i)].logprob, double(logits[size_t(order[size_t(i)])]) - std::log(total), 1e-4);
    }
  }
  EXPECT_EQ(top_logprobs(logits.data(), 3, 10).size(), 3u);
}

}  // namespace
}  // namespace s1
