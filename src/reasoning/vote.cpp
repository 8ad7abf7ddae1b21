#include "reasoning/vote.h"

#include <cmath>

#include "grading/answer.h"
#include "util/error.h"

namespace s1 {

VoteMethod parse_vote_method(std::string_view name) {
  if (name == "majority") return VoteMethod::majority;
  if (name == "weighted") return VoteMethod::weighted;
  if (name == "best") return VoteMethod::best;
  fail("unknown vote method '{}' (choose majority, weighted or best)", name);
}

const char* vote_method_name(VoteMethod method) {
  switch (method) {
    case VoteMethod::majority: return "majority";
    case VoteMethod::weighted: return "weighted";
    case VoteMethod::best: return "best";
  }
  return "?";
}

VoteResult vote(const std::vector<VoteCandidate>& candidates, VoteMethod method) {
  VoteResult result;
  if (candidates.empty()) return result;

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
    // Cluster equivalent answers; each cluster scores its votes (or the sum of
    // its samples' mean-probabilities), ties go to the more confident cluster.
    struct Cluster {
      int first;
      int votes = 0;
      double weight = 0, logprob_sum = 0;
    };
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

}  // namespace s1
