#pragma once
// What budget forcing and parallel sampling cost (`s1 bench --reasoning`),
// measured through the Generator on one engine:
//  - controller overhead: decode tokens/s of a budget-controlled request (a
//    minimum that keeps it thinking) against the same request uncontrolled;
//  - parallel scaling: aggregate decode tokens/s of n samples forked from one
//    prompt against one sample, and whether the prompt was computed once;
//  - grammar overhead: the time spent choosing each token (sampler and
//    grammar, timed inside the generator) under a grammar against the same
//    unconstrained, as a share of the unconstrained decode time per token;
//    inside an endless JSON string (nearly every token allowed: the sampler
//    asks token by token) and in a run of digits (few allowed: the token trie
//    is walked). Temperature 0.8, top-k 40. Timing only the choice keeps the
//    figure steady on a busy machine, where whole-step times swing more than
//    the overhead being measured.
// Runs alternate (plain, controlled, plain, ...) and medians are reported, so a
// drift in the machine's speed hits both sides alike.
#include <string>

namespace s1 {

struct ReasoningBenchParams {
  std::string model;
  int prompt = 128;  // prompt tokens
  int gen = 64;      // tokens generated per sample
  int samples = 8;   // n of the parallel run
  int repeats = 3;   // alternating runs of each kind
  int threads = 0;
};

struct ReasoningBenchResult {
  int threads = 0;
  double plain_tps = 0, controlled_tps = 0;
  double controller_overhead = 0;  // 1 - controlled / plain
  double single_tps = 0, parallel_tps = 0;
  double parallel_speedup = 0;  // parallel / single aggregate tokens/s
  long long parallel_prefill_tokens = 0;  // prompt positions the n-sample run computed
  double sampled_tps = 0;
  double sampling_us = 0, json_string_sampling_us = 0, digits_sampling_us = 0;  // per token
  double json_string_overhead = 0, digits_overhead = 0;  // extra choice time / unconstrained time per token
};

ReasoningBenchResult run_reasoning_bench(const ReasoningBenchParams& params);

}  // namespace s1
