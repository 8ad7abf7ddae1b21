// Gradient checks against central finite differences: each backward op on its
// own, then the whole model's loss for every architecture switch.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "support/test_support.h"
#include "train/backward_ops.h"
#include "train/train_fixtures.h"
#include "util/thread_pool.h"

namespace {

using namespace s1;
using namespace s1::train;

std::vector<float> random_vector(size_t n, uint32_t seed, float scale = 1.0f) {
  return s1test::gaussian_values(int(n), scale, seed);
}

double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += double(a[i]) * b[i];
  return s;
}

// d/dx_i of f at x by central differences.
template <typename F>
double numeric(std::vector<float>& x, size_t i, F f, float eps = 1e-2f) {
  const float saved = x[i];
  x[i] = saved + eps;
  const double up = f();
  x[i] = saved - eps;
  const double down = f();
  x[i] = saved;
  return (up - down) / (2.0 * eps);
}

// The same for one element of a model tensor, written through its setter (so
// the trainer's caches derived from it are rebuilt for each evaluation).
template <typename F>
double numeric(Tensor& t, size_t i, F f, float eps = 1e-2f) {
  const float saved = t.value()[i];
  t.set(i, saved + eps);
  const double up = f();
  t.set(i, saved - eps);
  const double down = f();
  t.set(i, saved);
  return (up - down) / (2.0 * eps);
}

void expect_close(double analytic, double num, const std::string& what) {
  EXPECT_NEAR(analytic, num, 2e-3 + 1e-2 * std::abs(num)) << what;
}

TEST(TrainOpGradient, RmsNorm) {
  const int n = 12;
  auto x = random_vector(n, 1), w = random_vector(n, 2), r = random_vector(n, 3);
  std::vector<float> dx(n, 0.0f), dw(n, 0.0f);
  rmsnorm_backward(x.data(), w.data(), r.data(), dx.data(), dw.data(), n, 1e-6f);
  auto loss = [&] {
    std::vector<float> out(n);
    ops::rmsnorm(x.data(), w.data(), out.data(), n, 1e-6f);
    return dot(out, r);
  };
  for (int i = 0; i < n; ++i) {
    expect_close(dx[i], numeric(x, i, loss), "dx");
    expect_close(dw[i], numeric(w, i, loss), "dw");
  }
}

TEST(TrainOpGradient, SwiGlu) {
  const int n = 10;
  auto g = random_vector(n, 4, 2.0f), u = random_vector(n, 5), r = random_vector(n, 6);
  std::vector<float> dg(n), du(n);
  swiglu_backward(g.data(), u.data(), r.data(), dg.data(), du.data(), n);
  auto loss = [&] {
    std::vector<float> out(n);
    ops::swiglu(g.data(), u.data(), out.data(), n);
    return dot(out, r);
  };
  for (int i = 0; i < n; ++i) {
    expect_close(dg[i], numeric(g, i, loss), "dgate");
    expect_close(du[i], numeric(u, i, loss), "dup");
  }
}

TEST(TrainOpGradient, RopeBothStyles) {
  for (auto style : {ops::RopeStyle::neox, ops::RopeStyle::normal}) {
    const int heads = 2, dim = 8;
    ops::Rope rope(style, 6, 10000.0, 1.0, {});  // 6 of 8 dims rotate: the rest pass through
    auto x = random_vector(heads * dim, 7), r = random_vector(heads * dim, 8);
    std::vector<float> dx = r;
    rope_backward(rope, dx.data(), heads, dim, 37);
    auto loss = [&] {
      std::vector<float> y = x;
      rope.apply(y.data(), heads, dim, 37);
      return dot(y, r);
    };
    for (size_t i = 0; i < x.size(); ++i) expect_close(dx[i], numeric(x, i, loss), "rope dx");
  }
}

TEST(TrainOpGradient, CrossEntropy) {
  const int n = 9;
  auto logits = random_vector(n, 9, 3.0f);
  std::vector<float> dl(n);
  const float loss0 = cross_entropy(logits.data(), n, 4, 0.5f, dl.data());
  std::vector<float> p = logits;
  ops::softmax(p.data(), n);
  EXPECT_NEAR(loss0, -std::log(p[4]), 1e-5);
  auto loss = [&] {
    std::vector<float> scratch(n);
    return 0.5 * cross_entropy(logits.data(), n, 4, 1.0f, scratch.data());
  };
  for (int i = 0; i < n; ++i) expect_close(dl[i], numeric(logits, i, loss), "dlogits");
}

// The whole model: every tensor's gradient at its largest entries and a few
// random ones, against finite differences of the mean loss.
void check_model_gradient(const std::string& arch) {
  ThreadPool pool(2);
  Weights w = Weights::random(s1test::tiny_config(arch), 42, 0.3f);
  Transformer model(w, pool);
  const TokenBatch batch = s1test::tiny_batch();
  const double n_loss = double(batch.loss_tokens());
  model.forward(batch);
  w.zero_grad();
  model.backward(float(1.0 / n_loss));

  std::mt19937 gen(3);
  for (auto& t : w.tensors()) {
    auto mean_loss = [&] { return model.forward(batch) / n_loss; };
    std::vector<size_t> order(t->value().size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::partial_sort(order.begin(), order.begin() + 3, order.end(),
                      [&](size_t a, size_t b) { return std::abs(t->grad[a]) > std::abs(t->grad[b]); });
    std::vector<size_t> picks(order.begin(), order.begin() + 3);
    for (int k = 0; k < 2; ++k) picks.push_back(gen() % t->value().size());
    for (size_t i : picks)
      expect_close(t->grad[i], numeric(*t, i, mean_loss, 1e-2f), arch + " " + t->name + "[" + std::to_string(i) + "]");
  }
}

TEST(TrainModelGradient, Qwen2BiasesGqaUntied) { check_model_gradient("qwen2"); }
TEST(TrainModelGradient, Qwen3QkNormMultiQuery) { check_model_gradient("qwen3"); }
TEST(TrainModelGradient, LlamaTiedOutput) { check_model_gradient("llama"); }

}  // namespace

namespace {

// Packing two examples in one forward pass and accumulating them over two
// passes give the same gradient: attention never crosses an example.
TEST(TrainAccumulation, PackedEqualsAccumulated) {
  ThreadPool pool(2);
  Weights w = Weights::random(s1test::tiny_config("qwen2"), 5, 0.3f);
  Transformer model(w, pool);
  const int32_t a[] = {1, 5, 9, 3, 7, 2, 11}, b[] = {4, 8, 15, 16, 23, 39};
  const uint8_t am[] = {0, 0, 0, 1, 1, 1, 1}, bm[] = {0, 1, 0, 1, 1, 1};
  TokenBatch packed, first, second;
  packed.add_example(a, am);
  packed.add_example(b, bm);
  first.add_example(a, am);
  second.add_example(b, bm);
  const float scale = 1.0f / float(packed.loss_tokens());

  w.zero_grad();
  const double loss_packed = model.forward(packed);
  model.backward(scale);
  std::vector<std::vector<float>> g_packed;
  for (auto& t : w.tensors()) g_packed.push_back(t->grad);

  w.zero_grad();
  double loss_accumulated = model.forward(first);
  model.backward(scale);
  loss_accumulated += model.forward(second);
  model.backward(scale);
  EXPECT_NEAR(loss_packed, loss_accumulated, 1e-5 * loss_packed);
  for (size_t k = 0; k < g_packed.size(); ++k)
    for (size_t i = 0; i < g_packed[k].size(); ++i)
      ASSERT_NEAR(w.tensors()[k]->grad[i], g_packed[k][i], 1e-5 + 1e-4 * std::abs(g_packed[k][i]))
          << w.tensors()[k]->name;
}

}  // namespace

namespace {

// LoRA adapters: the gradients of A and B against finite differences, with B
// made non-zero so that both carry signal; the base weights get none.
TEST(TrainModelGradient, LoraAdapters) {
  ThreadPool pool(2);
  Weights w = Weights::random(s1test::tiny_config("qwen2"), 42, 0.3f);
  w.add_lora(2, 4.0f, 9);
  std::mt19937 gen(11);
  std::normal_distribution<float> dist(0.0f, 0.3f);
  for (auto& t : w.tensors())
    if (t->name.ends_with(".lora_b"))
      for (float& x : t->values_for_update()) x = dist(gen);
  Transformer model(w, pool);
  const TokenBatch batch = s1test::tiny_batch();
  const double n_loss = double(batch.loss_tokens());
  model.forward(batch);
  w.zero_grad();
  model.backward(float(1.0 / n_loss));
  int checked = 0;
  for (auto& t : w.tensors()) {
    if (!t->trainable) {
      for (float g : t->grad) ASSERT_EQ(g, 0.0f) << t->name;
      continue;
    }
    for (size_t i : {size_t(0), t->value().size() / 2, t->value().size() - 1}) {
      expect_close(t->grad[i], numeric(*t, i, [&] { return model.forward(batch) / n_loss; }), t->name);
      ++checked;
    }
  }
  EXPECT_EQ(checked, 2 * 7 * 2 * 3);  // 2 layers × 7 matrices × (A, B) × 3 entries
}

}  // namespace
