#include <gtest/gtest.h>

#include <cmath>

#include "train/optimizer.h"
#include "train/train_fixtures.h"
#include "util/thread_pool.h"

namespace {

using namespace s1::train;

TEST(TrainSchedule, WarmupThenCosineToZero) {
  const int64_t total = 100, warmup = 5;
  EXPECT_DOUBLE_EQ(learning_rate(0, total, warmup, 1e-5), 2e-6);
  EXPECT_DOUBLE_EQ(learning_rate(4, total, warmup, 1e-5), 1e-5);
  EXPECT_DOUBLE_EQ(learning_rate(5, total, warmup, 1e-5), 1e-5);
  EXPECT_NEAR(learning_rate(5 + 47, total, warmup, 1e-5), 5e-6, 1e-7);  // halfway down
  EXPECT_NEAR(learning_rate(99, total, warmup, 1e-5), 0.0, 1e-20);
  for (int64_t s = 6; s < total; ++s)
    EXPECT_LE(learning_rate(s, total, warmup, 1e-5), learning_rate(s - 1, total, warmup, 1e-5));
}

TEST(TrainAdamW, FirstStepMovesEachWeightByLr) {
  s1::ThreadPool pool(2);
  Weights w = Weights::random(s1test::tiny_config("llama"), 1, 0.1f);
  Tensor& t = *w.find("blk.0.attn_q.weight");
  const std::vector<float> before = t.value();
  for (size_t i = 0; i < t.grad.size(); ++i) t.grad[i] = (i % 2 ? 1.0f : -3.0f);
  AdamW opt(w, {.beta1 = 0.9, .beta2 = 0.95, .eps = 1e-8, .weight_decay = 0.0});
  opt.step(1e-3, pool);
  // Bias-corrected Adam's first step is lr · sign(grad).
  for (size_t i = 0; i < t.value().size(); ++i)
    EXPECT_NEAR(t.value()[i], before[i] - 1e-3f * (i % 2 ? 1.0f : -1.0f), 1e-6);
}

TEST(TrainAdamW, DecoupledWeightDecayOnMatricesOnly) {
  s1::ThreadPool pool(2);
  Weights w = Weights::random(s1test::tiny_config("llama"), 1, 0.1f);
  Tensor& matrix = *w.find("blk.0.attn_q.weight");
  Tensor& norm = *w.find("blk.0.attn_norm.weight");
  const float m0 = matrix.value()[0], n0 = norm.value()[0];
  AdamW opt(w, {.weight_decay = 0.1});
  opt.step(0.5, pool);  // zero gradients: only decay moves weights
  EXPECT_FLOAT_EQ(matrix.value()[0], m0 * (1.0f - 0.05f));
  EXPECT_FLOAT_EQ(norm.value()[0], n0);
}

TEST(TrainClip, ScalesToMaxNorm) {
  s1::ThreadPool pool(2);
  Weights w = Weights::random(s1test::tiny_config("qwen2"), 1, 0.1f);
  for (auto& t : w.tensors()) std::fill(t->grad.begin(), t->grad.end(), 1.0f);
  const double norm = clip_grad_norm(w, 2.0, pool);
  EXPECT_NEAR(norm, std::sqrt(double(w.parameter_count())), 1e-3);
  EXPECT_NEAR(global_grad_norm(w, pool), 2.0, 1e-4);
}

}  // namespace
