#pragma once
// AdamW over the trainable tensors of a Weights, the learning-rate schedule
// (linear warmup, then cosine decay to a floor) and clipping by global norm.
#include <cstdint>
#include <vector>

#include "train/weights.h"

namespace s1 {
class ThreadPool;
}

namespace s1::train {

struct AdamWParams {
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
  double weight_decay = 1e-4;  // decoupled; applied to matrices only, not to norms and biases
};

// The learning rate of optimizer step `step` (0-based) of `total`:
// peak · (step + 1) / warmup during warmup, then cosine from peak down to
// min_lr at the last step.
double learning_rate(int64_t step, int64_t total, int64_t warmup, double peak, double min_lr = 0.0);

// sqrt(Σ grad²) over the trainable tensors, summed in fixed chunks and in a
// fixed order: the same bits on any number of threads.
double global_grad_norm(const Weights& weights, ThreadPool& pool);
// Scales every gradient so the global norm is at most max_norm (0: no clip).
// Returns the norm before clipping.
double clip_grad_norm(Weights& weights, double max_norm, ThreadPool& pool);

class AdamW {
 public:
  AdamW(Weights& weights, AdamWParams params);

  // One update with learning rate lr from the current gradients (their sum or
  // mean, as the caller scaled them); marks each tensor changed.
  void step(double lr, ThreadPool& pool);

  // Moments per tensor, parallel to weights.tensors() (for checkpoints).
  std::vector<std::vector<float>>& first_moments() { return m_; }
  std::vector<std::vector<float>>& second_moments() { return v_; }
  void set_steps_taken(int64_t t) { t_ = t; }

 private:
  Weights& w_;
  AdamWParams p_;
  int64_t t_ = 0;
  std::vector<std::vector<float>> m_, v_;
};

}  // namespace s1::train
