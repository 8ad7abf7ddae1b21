#include "sampling/sampler.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "sampling/grammar_matcher.h"
#include "tensor/reduce.h"
#include "util/error.h"

namespace s1 {

namespace {

// A strict total order (ties broken by token id) so that which tokens survive
// top-k is the same with every standard library.
bool higher(float logit_a, int token_a, float logit_b, int token_b) {
  return logit_a > logit_b || (logit_a == logit_b && token_a < token_b);
}

}  // namespace

void validate(const SamplingParams& p) {
  if (!(p.temperature >= 0.0f)) fail("sampling: temperature must be >= 0, got {}", p.temperature);
  if (p.top_k < 0) fail("sampling: top_k must be >= 0 (0 disables it), got {}", p.top_k);
  if (!(p.top_p >= 0.0f && p.top_p <= 1.0f)) fail("sampling: top_p must be in [0, 1], got {}", p.top_p);
  if (!(p.min_p >= 0.0f && p.min_p <= 1.0f)) fail("sampling: min_p must be in [0, 1], got {}", p.min_p);
  if (!(p.repeat_penalty > 0.0f) || !std::isfinite(p.repeat_penalty))
    fail("sampling: repeat_penalty must be > 0 (1 disables it), got {}", p.repeat_penalty);
  if (p.repeat_last_n < -1) fail("sampling: repeat_last_n must be >= -1 (-1 = all tokens), got {}", p.repeat_last_n);
  if (!std::isfinite(p.presence_penalty)) fail("sampling: presence_penalty must be finite");
  if (!std::isfinite(p.frequency_penalty)) fail("sampling: frequency_penalty must be finite");
  for (const auto& [token, bias] : p.logit_bias) {
    if (token < 0) fail("sampling: logit bias for negative token id {}", token);
    if (std::isnan(bias)) fail("sampling: logit bias for token {} is NaN", token);
  }
}

void parse_logit_bias(std::string_view spec, std::map<int, float>& bias) {
  int token = 0;
  auto [end, ec] = std::from_chars(spec.data(), spec.data() + spec.size(), token);
  size_t sign_at = size_t(end - spec.data());
  if (ec != std::errc() || token < 0 || sign_at + 1 >= spec.size() ||
      (spec[sign_at] != '+' && spec[sign_at] != '-'))
    fail("--logit-bias '{}': expected TOKEN+BIAS or TOKEN-BIAS, e.g. 15043+1 or 15043-inf", spec);
  std::string value(spec.substr(sign_at + 1));
  char* value_end = nullptr;
  float magnitude = std::strtof(value.c_str(), &value_end);
  if (value_end != value.c_str() + value.size() || std::isnan(magnitude) || value[0] == '+' || value[0] == '-')
    fail("--logit-bias '{}': '{}' is not a number", spec, value);
  bias[token] = spec[sign_at] == '-' ? -magnitude : magnitude;
}

std::vector<TokenLogprob> top_logprobs(const float* logits, int n_vocab, int k) {
  k = std::clamp(k, 0, n_vocab);
  std::vector<TokenLogprob> top;
  if (k == 0) return top;
  const double log_total = reduce::log_sum_exp(logits, n_vocab);
  // A min-heap of the best k so far: one pass over the vocabulary.
  auto worse = [](const TokenLogprob& a, const TokenLogprob& b) { return higher(a.logprob, a.token, b.logprob, b.token); };
  for (int t = 0; t < n_vocab; ++t) {
    const TokenLogprob candidate{t, logits[t]};
    if (int(top.size()) < k) {
      top.push_back(candidate);
      std::push_heap(top.begin(), top.end(), worse);
    } else if (higher(candidate.logprob, t, top.front().logprob, top.front().token)) {
      std::pop_heap(top.begin(), top.end(), worse);
      top.back() = candidate;
      std::push_heap(top.begin(), top.end(), worse);
    }
  }
  std::sort(top.begin(), top.end(), worse);
  for (TokenLogprob& entry : top) entry.logprob = float(double(entry.logprob) - log_total);
  return top;
}

Sampler::Sampler(SamplingParams params) : params_(std::move(params)) {
  validate(params_);
  seed_ = params_.seed ? *params_.seed : (uint64_t(std::random_device{}()) << 32) ^ std::random_device{}();
  reset();
}

void Sampler::reset() {
  rng_.seed(seed_);
  recent_.clear();
  recent_next_ = 0;
  recent_counts_.clear();
}

void Sampler::accept(int token) {
  const int window = params_.repeat_last_n;
  if (window == 0) return;
  if (window > 0 && recent_.size() == size_t(window)) {
    int evicted = recent_[recent_next_];
    if (--recent_counts_[evicted] == 0) recent_counts_.erase(evicted);
    recent_[recent_next_] = token;
    recent_next_ = (recent_next_ + 1) % recent_.size();
  } else if (window > 0) {
    recent_.push_back(token);
  }
  ++recent_counts_[token];
}

// llama.cpp's llama_sampler_penalties: the repeat penalty pushes a seen token's
// logit towards "less likely" whatever its sign; frequency and presence subtract.
bool Sampler::penalties_active() const {
  const SamplingParams& p = params_;
  return !recent_counts_.empty() &&
         (p.repeat_penalty != 1.0f || p.frequency_penalty != 0.0f || p.presence_penalty != 0.0f);
}

void Sampler::apply_penalties() {
  if (!penalties_active()) return;
  const SamplingParams& p = params_;
  for (const auto& [token, count] : recent_counts_) {
    Candidate* c = find_candidate(token);
    if (!c) continue;
    c->logit = c->logit <= 0.0f ? c->logit * p.repeat_penalty : c->logit / p.repeat_penalty;
    c->logit -= float(count) * p.frequency_penalty + float(count > 0) * p.presence_penalty;
  }
}

Sampler::Candidate* Sampler::find_candidate(int token) {
  auto it = std::lower_bound(candidates_.begin(), candidates_.end(), token,
                             [](const Candidate& c, int t) { return c.token < t; });
  return it != candidates_.end() && it->token == token ? &*it : nullptr;
}

// The candidates are the tokens whose raw logit is at least `threshold`, plus
// every token the bias or the penalties change (they may rise above it), in
// token order, with bias, penalties and bans applied and impossible tokens
// (-inf, NaN) dropped. With `allowed` (a grammar's allowed tokens, in id
// order), those tokens instead, whatever the threshold.
void Sampler::gather_candidates(const float* logits, int n_vocab, float threshold, std::span<const int> banned,
                                const std::vector<int32_t>* allowed) {
  token_scratch_.clear();
  if (allowed) {
    for (int32_t t : *allowed)
      if (t < n_vocab) token_scratch_.push_back(t);
    threshold = -std::numeric_limits<float>::infinity();
  } else {
    reduce::indices_at_least(logits, n_vocab, threshold, token_scratch_);
  }
  const size_t above = token_scratch_.size();
  auto add_if_below = [&](int token) {
    if (token >= 0 && token < n_vocab && !(logits[token] >= threshold)) token_scratch_.push_back(token);
  };
  for (const auto& entry : params_.logit_bias) add_if_below(entry.first);
  if (penalties_active())
    for (const auto& entry : recent_counts_) add_if_below(entry.first);
  if (token_scratch_.size() > above) {
    std::sort(token_scratch_.begin(), token_scratch_.end());
    token_scratch_.erase(std::unique(token_scratch_.begin(), token_scratch_.end()), token_scratch_.end());
  }
  candidates_.clear();
  for (int32_t t : token_scratch_) candidates_.push_back({logits[t], t});
  for (const auto& [token, bias] : params_.logit_bias)
    if (Candidate* c = find_candidate(token)) c->logit += bias;
  apply_penalties();
  for (int token : banned)
    if (Candidate* c = find_candidate(token)) c->logit = -std::numeric_limits<float>::infinity();
  std::erase_if(candidates_, [](const Candidate& c) { return !(c.logit > -std::numeric_limits<float>::infinity()); });
}

// Keeps the candidates the grammar allows, the best first, until `needed`
// are found (all when needed <= 0), then puts them back in token order. Asking token
// by token is cheap while the best candidates pass (inside a JSON string
// nearly every token does); after kTokenChecks refusals, or when every
// candidate must be asked, one walk of the token trie gives the whole allowed
// set instead (cheap exactly when few tokens pass: the walk stops at the
// first byte no parse can take).
void Sampler::keep_allowed(GrammarMatcher& grammar, int needed) {
  constexpr int kTokenChecks = 64;
  auto by_rank = [](const Candidate& a, const Candidate& b) { return higher(a.logit, a.token, b.logit, b.token); };
  std::sort(candidates_.begin(), candidates_.end(), by_rank);
  const std::vector<uint8_t>* mask =
      needed <= 0 && candidates_.size() > size_t(4 * kTokenChecks) ? &grammar.allowed_mask() : nullptr;
  size_t kept = 0;
  int refused = 0;
  for (size_t i = 0; i < candidates_.size() && (needed <= 0 || kept < size_t(needed)); ++i) {
    const auto token = size_t(candidates_[i].token);
    bool allowed = false;
    if (mask) {
      allowed = token < mask->size() && (*mask)[token];
    } else {
      allowed = grammar.allows(int32_t(token));
      if (!allowed && ++refused > kTokenChecks) mask = &grammar.allowed_mask();
    }
    if (allowed) candidates_[kept++] = candidates_[i];
  }
  candidates_.resize(kept);
  std::sort(candidates_.begin(), candidates_.end(), [](const Candidate& a, const Candidate& b) { return a.token < b.token; });
}

void Sampler::keep_top_k(int k) {
  if (k <= 0 || size_t(k) >= candidates_.size()) return;
  auto by_rank = [](const Candidate& a, const Candidate& b) { return higher(a.logit, a.token, b.logit, b.token); };
  std::nth_element(candidates_.begin(), candidates_.begin() + (k - 1), candidates_.end(), by_rank);
  candidates_.resize(size_t(k));
  std::sort(candidates_.begin(), candidates_.end(), by_rank);
  sorted_ = candidates_.size();
}

// Keeps the smallest set of most likely tokens whose probability reaches p.
// Only a head of the vocabulary large enough to hold that set is sorted: the
// head grows (nth_element, linear) until its mass reaches p.
void Sampler::keep_top_p(float p) {
  if (p >= 1.0f || candidates_.size() <= 1) return;
  float max = -std::numeric_limits<float>::infinity();
  for (const Candidate& c : candidates_) max = std::max(max, c.logit);
  double total = 0.0;
  for (const Candidate& c : candidates_) total += std::exp(c.logit - max);
  const double target = double(p) * total;
  auto by_rank = [](const Candidate& a, const Candidate& b) { return higher(a.logit, a.token, b.logit, b.token); };
  size_t head = std::min<size_t>(256, candidates_.size());
  for (;;) {
    if (head < candidates_.size())
      std::nth_element(candidates_.begin(), candidates_.begin() + ptrdiff_t(head - 1), candidates_.end(), by_rank);
    double head_mass = 0.0;
    for (size_t i = 0; i < head; ++i) head_mass += std::exp(candidates_[i].logit - max);
    if (head_mass >= target || head == candidates_.size()) break;
    head = std::min(head * 4, candidates_.size());
  }
  std::sort(candidates_.begin(), candidates_.begin() + ptrdiff_t(head), by_rank);
  double cumulative = 0.0;
  size_t keep = head;  // rounding may keep the sum just below p: then keep the whole head
  for (size_t i = 0; i < head; ++i) {
    cumulative += std::exp(candidates_[i].logit - max);
    if (cumulative >= target) {
      keep = i + 1;
      break;
    }
  }
  candidates_.resize(keep);
  sorted_ = keep;
}

// Keeps tokens whose probability is at least p times the top token's.
void Sampler::keep_min_p(float p) {
  if (p <= 0.0f || candidates_.empty()) return;
  float max = -std::numeric_limits<float>::infinity();
  for (const Candidate& c : candidates_) max = std::max(max, c.logit);
  const float threshold = max + std::log(p);
  size_t kept_sorted = 0;
  for (size_t i = 0; i < sorted_; ++i) kept_sorted += candidates_[i].logit >= threshold;
  std::erase_if(candidates_, [threshold](const Candidate& c) { return c.logit < threshold; });
  sorted_ = kept_sorted;
}

double Sampler::uniform() { return double(rng_() >> 11) * 0x1.0p-53; }

TokenChoice Sampler::sample_choice(const float* logits, int n_vocab, std::span<const int> banned,
                                   GrammarMatcher* grammar) {
  if (n_vocab <= 0) fail("sampler: empty vocabulary");
  const float neg_inf = -std::numeric_limits<float>::infinity();
  const bool greedy = params_.temperature <= 0.0f;
  const double raw_log_total = reduce::log_sum_exp(logits, n_vocab);
  auto raw_logprob = [&](int token) { return float(double(logits[token]) - raw_log_total); };

  // Greedy without bias, penalties or bans is the argmax: no candidate list.
  if (greedy && !grammar && banned.empty() && params_.logit_bias.empty() && !penalties_active()) {
    const int64_t best = reduce::argmax(logits, n_vocab);
    if (best < 0) fail("sampler: every one of the {} tokens has a -inf or NaN logit", n_vocab);
    TokenChoice choice;
    choice.token = int(best);
    choice.raw_logprob = raw_logprob(choice.token);
    return choice;
  }

  // Only the best `needed` tokens can be picked (1 for greedy, top-k), so the
  // candidates are the tokens within a margin of the top logit: first the
  // margin is sized on counts alone (narrowed while it holds far more tokens
  // than needed, as a random-weight model's flat logits do; widened while it
  // holds fewer), then widened until at least `needed` candidates clear the
  // threshold after bias, penalties and bans (so no token left out could rank
  // above them).
  constexpr int64_t kEnoughCandidates = 4096;
  const int needed = greedy ? 1 : params_.top_k;
  const float top = reduce::max_value(logits, n_vocab);
  float margin = 4.0f;
  if (needed > 0) {
    // Geometric bisection between a margin holding too few and one holding
    // too many; a dozen counting passes at most.
    float too_few = 0.0f, too_many = 0.0f;
    for (int pass = 0; pass < 12 && margin > 1e-6f && margin < 1e6f; ++pass) {
      const int64_t count = reduce::count_at_least(logits, n_vocab, top - margin);
      if (count < needed) {
        too_few = margin;
      } else if (count > kEnoughCandidates) {
        too_many = margin;
      } else {
        break;
      }
      margin = too_few > 0 && too_many > 0 ? std::sqrt(too_few * too_many) : too_few > 0 ? margin * 4 : margin / 4;
    }
    if (too_many > 0 && reduce::count_at_least(logits, n_vocab, top - margin) < needed) margin = too_many;
  }
  // Once a grammar's whole allowed set is known (few tokens passed), the
  // candidates are exactly those tokens: no wider margin is needed.
  for (;; margin *= 4.0f) {
    const std::vector<int32_t>* allowed = grammar ? grammar->known_allowed_tokens() : nullptr;
    const float threshold = !allowed && needed > 0 && margin < 1e6f ? top - margin : neg_inf;
    gather_candidates(logits, n_vocab, threshold, banned, allowed);
    if (grammar && !allowed) keep_allowed(*grammar, needed);
    if (threshold == neg_inf) break;
    const auto cleared = std::count_if(candidates_.begin(), candidates_.end(),
                                       [threshold](const Candidate& c) { return c.logit >= threshold; });
    if (cleared >= needed) break;
  }
  if (candidates_.empty() && grammar) fail("grammar: no token of the vocabulary can continue the output");
  if (candidates_.empty()) fail("sampler: every one of the {} tokens is banned or has a -inf logit", n_vocab);
  sorted_ = 0;

  TokenChoice choice;
  if (params_.temperature <= 0.0f) {
    auto best = std::min_element(candidates_.begin(), candidates_.end(), [](const Candidate& a, const Candidate& b) {
      return higher(a.logit, a.token, b.logit, b.token);
    });
    choice.token = best->token;
  } else {
    keep_top_k(params_.top_k);
    keep_top_p(params_.top_p);
    keep_min_p(params_.min_p);
    // The draw walks the candidates in token order, which does not depend on
    // how the standard library's partial sorts arranged them.
    if (sorted_ > 0)
      std::sort(candidates_.begin(), candidates_.end(),
                [](const Candidate& a, const Candidate& b) { return a.token < b.token; });
    float max = neg_inf;
    for (const Candidate& c : candidates_) max = std::max(max, c.logit);
    const float inv_temp = 1.0f / params_.temperature;
    double total = 0.0;
    for (const Candidate& c : candidates_) total += std::exp((c.logit - max) * inv_temp);
    const double target = uniform() * total;
    double cumulative = 0.0;
    const Candidate* picked = &candidates_.back();
    for (const Candidate& c : candidates_) {
      cumulative += std::exp((c.logit - max) * inv_temp);
      if (target < cumulative) {
        picked = &c;
        break;
      }
    }
    choice.token = picked->token;
    choice.logprob = float(double((picked->logit - max) * inv_temp) - std::log(total));
  }
  choice.raw_logprob = raw_logprob(choice.token);
  return choice;
}

}  // namespace s1
