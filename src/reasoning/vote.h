#pragma once
// Aggregating n samples into one answer: majority vote over the extracted
// final answers (equivalent answers vote together), the same vote weighted by
// each sample's mean token log-probability, or the single best sample.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace s1 {

enum class VoteMethod { majority, weighted, best };
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

VoteResult vote(const std::vector<VoteCandidate>& candidates, VoteMethod method);

}  // namespace s1
