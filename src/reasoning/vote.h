#pragma once
// Aggregating n samples into one answer: majority vote over the extracted
// final answers (equivalent answers vote together), the same vote weighted by
// each sample's mean token log-probability, the single best sample, or an
// adaptive majority vote whose sampling stops once it is settled
// (Adaptive-Consistency, Aggarwal et al. 2023).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace s1 {

enum class VoteMethod { majority, weighted, best, adaptive };
VoteMethod parse_vote_method(std::string_view name);  // s1::Error listing the choices
const char* vote_method_name(VoteMethod method);

struct VoteCandidate {
  std::optional<std::string> answer;  // nullopt: nothing extractable (never wins a vote)
  double mean_logprob = 0;
};

struct VoteResult {
  int winner = -1;                    // index of a sample holding the chosen answer
  std::optional<std::string> answer;  // the chosen answer
  double score = 0;                   // votes (majority), weight (weighted) or mean log-prob (best)
  int votes = 0;                      // samples whose answer is equivalent to the chosen one
};

VoteResult vote(const std::vector<VoteCandidate>& candidates, VoteMethod method);  // adaptive: as majority

// Whether a majority vote over `candidates` (the samples finished so far) is
// settled with `remaining` samples still to come: its leader cannot be
// overtaken, or the probability that the leader is the more likely of the
// top two answers, under a uniform prior on their shares (a Beta posterior,
// Adaptive-Consistency's stopping rule), is at least `confidence`.
bool vote_settled(const std::vector<VoteCandidate>& candidates, int remaining, double confidence);
// That probability for top-two counts a >= b: P(Beta(a+1, b+1) > 1/2).
double leader_probability(int a, int b);

}  // namespace s1
