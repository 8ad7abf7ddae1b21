#include "reasoning/vote.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "grading/answer.h"
#include "util/error.h"

namespace s1 {

VoteMethod parse_vote_method(std::string_view name) {
  if (name == "majority") return VoteMethod::majority;
  if (name == "weighted") return VoteMethod::weighted;
  if (name == "best") return VoteMethod::best;
  if (name == "adaptive") return VoteMethod::adaptive;
  fail("unknown vote method '{}' (choose majority, weighted, best or adaptive)", name);
}

const char* vote_method_name(VoteMethod method) {
  switch (method) {
    case VoteMethod::majority: return "majority";
    case VoteMethod::weighted: return "weighted";
    case VoteMethod::best: return "best";
    case VoteMethod::adaptive: return "adaptive";
  }
  return "?";
}

namespace {

// Samples with equivalent answers, together (those without an answer in none).
struct Cluster {
  int first;
  int votes = 0;
  double weight = 0, logprob_sum = 0;
};

std::vector<Cluster> cluster_answers(const std::vector<VoteCandidate>& candidates) {
  std::vector<Cluster> clusters;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const auto& c = candidates[i];
    if (!c.answer) continue;
    Cluster* home = nullptr;
    for (auto& cluster : clusters)
      if (answers_equivalent(*candidates[cluster.first].answer, *c.answer)) home = &cluster;
    if (!home) home = &clusters.emplace_back(Cluster{int(i)});
    home->votes += 1;
    home->weight += std::exp(c.mean_logprob);
    home->logprob_sum += c.mean_logprob;
  }
  return clusters;
}

}  // namespace

VoteResult vote(const std::vector<VoteCandidate>& candidates, VoteMethod method) {
  VoteResult result;
  if (candidates.empty()) return result;
  if (method == VoteMethod::adaptive) method = VoteMethod::majority;

  if (method == VoteMethod::best) {
    // The most confident sample, preferring one with an answer.
    for (size_t i = 0; i < candidates.size(); ++i) {
      const auto& c = candidates[i];
      const bool better = result.winner < 0 || (c.answer && !candidates[result.winner].answer) ||
                          (bool(c.answer) == bool(candidates[result.winner].answer) &&
                           c.mean_logprob > candidates[result.winner].mean_logprob);
      if (better) result.winner = int(i);
    }
  } else {
    // Each cluster scores its votes (or the sum of its samples'
    // mean-probabilities), ties go to the more confident cluster.
    const std::vector<Cluster> clusters = cluster_answers(candidates);
    const Cluster* best = nullptr;
    for (const auto& cluster : clusters) {
      const double score = method == VoteMethod::majority ? cluster.votes : cluster.weight;
      const double best_score = !best ? -1 : method == VoteMethod::majority ? best->votes : best->weight;
      if (!best || score > best_score || (score == best_score && cluster.logprob_sum > best->logprob_sum))
        best = &cluster;
    }
    result.winner = best ? best->first : 0;
  }

  result.answer = candidates[result.winner].answer;
  for (const auto& c : candidates)
    if (result.answer && c.answer && answers_equivalent(*result.answer, *c.answer)) ++result.votes;
  result.score = method == VoteMethod::majority ? result.votes
                 : method == VoteMethod::best   ? candidates[result.winner].mean_logprob
                                                : 0;
  if (method == VoteMethod::weighted)
    for (const auto& c : candidates)
      if (result.answer && c.answer && answers_equivalent(*result.answer, *c.answer))
        result.score += std::exp(c.mean_logprob);
  return result;
}

double leader_probability(int a, int b) {
  // P(Beta(a+1, b+1) > 1/2) = P(Binomial(a+b+1, 1/2) <= a), summed in logs.
  const int n = a + b + 1;
  double p = 0;
  for (int k = 0; k <= a; ++k)
    p += std::exp(std::lgamma(n + 1.0) - std::lgamma(k + 1.0) - std::lgamma(n - k + 1.0) - n * std::log(2.0));
  return std::min(1.0, p);
}

bool vote_settled(const std::vector<VoteCandidate>& candidates, int remaining, double confidence) {
  std::vector<int> counts;
  for (const Cluster& cluster : cluster_answers(candidates)) counts.push_back(cluster.votes);
  std::sort(counts.begin(), counts.end(), std::greater<>());
  const int a = counts.empty() ? 0 : counts[0], b = counts.size() > 1 ? counts[1] : 0;
  if (a == 0) return remaining == 0;
  return a > b + remaining || leader_probability(a, b) >= confidence;
}

}  // namespace s1
