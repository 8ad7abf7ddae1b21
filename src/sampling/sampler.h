#pragma once
// Token sampling with llama.cpp's semantics and defaults. One Sampler per
// sequence: it owns that sequence's RNG and the recent tokens the penalties see.
//
// The chain, in llama.cpp's default order (common_sampler_init adds the logit
// bias ahead of its sampler list):
//   logit bias -> penalties (repeat, frequency, presence) -> top-k -> top-p ->
//   min-p -> temperature -> draw from the softmax.
// temperature == 0 is greedy: the argmax after bias and penalties.
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace s1 {

class GrammarMatcher;

struct SamplingParams {
  float temperature = 0.8f;       // 0 = greedy
  int top_k = 40;                 // <= 0: off
  float top_p = 0.95f;            // 1: off
  float min_p = 0.05f;            // 0: off
  float repeat_penalty = 1.0f;    // 1: off
  int repeat_last_n = 64;         // how many recent tokens the penalties see; 0: off, -1: all
  float presence_penalty = 0.0f;  // 0: off
  float frequency_penalty = 0.0f; // 0: off
  std::map<int, float> logit_bias;  // added to the token's logit; -inf forbids it
  std::optional<uint64_t> seed;     // unset: drawn from std::random_device
};

// Throws s1::Error naming the first field out of range (e.g. top_p outside [0, 1]).
void validate(const SamplingParams& params);

// Parses llama.cpp's `--logit-bias` value "TOKEN(+|-)BIAS" ("15043+1", "2-0.5",
// "13-inf") and adds it to `bias`. Throws s1::Error on anything else.
void parse_logit_bias(std::string_view spec, std::map<int, float>& bias);

struct TokenChoice {
  int token = -1;
  // log p(token) under the distribution it was drawn from (after truncation and
  // temperature; 0 for greedy) and under the model's untouched logits.
  float logprob = 0.0f;
  float raw_logprob = 0.0f;
};

struct TokenLogprob {
  int32_t token = -1;
  float logprob = 0.0f;
};

// The k most likely tokens under the model's own logits (log softmax, before
// any sampling setting), best first; ties by token id.
std::vector<TokenLogprob> top_logprobs(const float* logits, int n_vocab, int k);

class Sampler {
 public:
  explicit Sampler(SamplingParams params);

  // Draws the next token. `banned` tokens are excluded for this step only;
  // with a `grammar`, so is every token it does not allow (the grammar is
  // applied before top-k, so top-k keeps the k best allowed tokens).
  // Does not accept the token: call accept() (and the grammar's) with whatever
  // the sequence keeps.
  TokenChoice sample_choice(const float* logits, int n_vocab, std::span<const int> banned = {},
                            GrammarMatcher* grammar = nullptr);
  int sample(const float* logits, int n_vocab, std::span<const int> banned = {}, GrammarMatcher* grammar = nullptr) {
    return sample_choice(logits, n_vocab, banned, grammar).token;
  }

  // Appends a token to the sequence's history (prompt tokens too, so the
  // penalties see them).
  void accept(int token);
  // Forgets the history and restarts the RNG from the seed.
  void reset();

  const SamplingParams& params() const { return params_; }
  uint64_t seed() const { return seed_; }

 private:
  struct Candidate {
    float logit;
    int token;
  };

  bool penalties_active() const;
  void apply_penalties();
  Candidate* find_candidate(int token);
  void gather_candidates(const float* logits, int n_vocab, float threshold, std::span<const int> banned,
                         const std::vector<int32_t>* allowed);
  void keep_allowed(GrammarMatcher& grammar, int needed);
  void keep_top_k(int k);
  void keep_top_p(float p);
  void keep_min_p(float p);
  double uniform();

  SamplingParams params_;
  uint64_t seed_;
  std::mt19937_64 rng_;
  std::vector<int> recent_;  // ring of the last repeat_last_n accepted tokens (all when -1)
  size_t recent_next_ = 0;
  std::unordered_map<int, int> recent_counts_;
  std::vector<Candidate> candidates_;  // scratch, reused between steps
  std::vector<int32_t> token_scratch_;
  size_t sorted_ = 0;                  // how many leading candidates are sorted by rank
};

}  // namespace s1
