#pragma once
// Reductions over one row of logits, vectorized: the sampler runs them over
// the whole vocabulary (152K entries for Qwen) for every token of every
// sequence, so in scalar code they cost as much as a batched decode step's
// matmuls (a 620 us greedy pick, 1.7 ms with top-k, per token).
//
// NaN entries count as absent everywhere.
#include <cstdint>
#include <vector>

namespace s1::reduce {

// The largest entry of x[0..n); -inf when there is none (n == 0, or all NaN / -inf).
float max_value(const float* x, int64_t n);

// The index of the largest entry (the first of equal ones); -1 when every
// entry is NaN or -inf.
int64_t argmax(const float* x, int64_t n);

// log(sum(exp(x[i]))), computed max-subtracted; -inf when no entry is finite.
double log_sum_exp(const float* x, int64_t n);

// How many entries are >= threshold.
int64_t count_at_least(const float* x, int64_t n, float threshold);

// Appends to `out` the indices i (ascending) with x[i] >= threshold.
void indices_at_least(const float* x, int64_t n, float threshold, std::vector<int32_t>& out);

}  // namespace s1::reduce
