// The opt-in bf16 matrix products: exact against a reference over the same
// bf16-rounded inputs, and a training forward/backward close to f32's.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "tensor/blocks.h"
#include "train/matmul_bf16.h"
#include "train/train_fixtures.h"
#include "util/thread_pool.h"

namespace {

using namespace s1;
using namespace s1::train;

TEST(TrainBf16, MatmulMatchesRoundedReference) {
  if (!bf16_matmul_available()) GTEST_SKIP() << "no AVX512-BF16";
  const int64_t rows = 37, cols = 70, tokens = 9;  // ragged: partial tiles and padded columns
  std::mt19937 gen(1);
  std::normal_distribution<float> dist;
  std::vector<float> w(size_t(rows * cols)), x(size_t(tokens * cols)), out(size_t(tokens * rows));
  for (float& v : w) v = dist(gen);
  for (float& v : x) v = dist(gen);
  Bf16Rows w16, x16;
  to_bf16_rows(w.data(), rows, cols, w16);
  to_bf16_rows(x.data(), tokens, cols, x16);
  ThreadPool pool(2);
  matmul_bf16(w16, x16, out.data(), pool);
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t r = 0; r < rows; ++r) {
      double ref = 0, mag = 0;
      for (int64_t c = 0; c < cols; ++c) {
        const double p = double(bf16_to_f32(f32_to_bf16(w[size_t(r * cols + c)]))) *
                         double(bf16_to_f32(f32_to_bf16(x[size_t(t * cols + c)])));
        ref += p;
        mag += std::abs(p);
      }
      ASSERT_NEAR(out[size_t(t * rows + r)], ref, 1e-5 * mag) << t << "," << r;
    }
}

TEST(TrainBf16, ForwardAndGradientsCloseToF32) {
  if (!bf16_matmul_available()) GTEST_SKIP() << "no AVX512-BF16";
  ThreadPool pool(2);
  Weights w = Weights::random(s1test::tiny_config("qwen2"), 3, 0.3f);
  const TokenBatch batch = s1test::tiny_batch();
  auto run = [&](bool bf16) {
    Transformer model(w, pool, bf16);
    w.zero_grad();
    const double loss = model.forward(batch);
    model.backward(1.0f);
    std::vector<float> grads;
    for (auto& t : w.tensors()) grads.insert(grads.end(), t->grad.begin(), t->grad.end());
    return std::make_pair(loss, grads);
  };
  const auto [loss32, g32] = run(false);
  const auto [loss16, g16] = run(true);
  EXPECT_NEAR(loss16, loss32, 1e-2 * loss32);
  double diff = 0, norm = 0;
  for (size_t i = 0; i < g32.size(); ++i) {
    diff += double(g16[i] - g32[i]) * (g16[i] - g32[i]);
    norm += double(g32[i]) * g32[i];
  }
  EXPECT_LT(std::sqrt(diff / norm), 3e-2);
}

}  // namespace
