#include "train/optimizer.h"

#include <algorithm>
#include <cmath>

#include "util/thread_pool.h"

namespace s1::train {

double learning_rate(int64_t step, int64_t total, int64_t warmup, double peak, double min_lr) {
  if (step < warmup) return peak * double(step + 1) / double(warmup);
  const int64_t decay_steps = total - warmup;
  if (decay_steps <= 1) return peak;
  const double progress = std::min(1.0, double(step - warmup) / double(decay_steps - 1));
  return min_lr + 0.5 * (peak - min_lr) * (1.0 + std::cos(M_PI * progress));
}

namespace {

// Element ranges of the trainable tensors, at most kChunk long, in tensor order.
struct Chunk {
  size_t tensor;
  size_t begin, end;
};
constexpr size_t kChunk = size_t(1) << 16;

std::vector<Chunk> trainable_chunks(const Weights& w) {
  std::vector<Chunk> chunks;
  for (size_t k = 0; k < w.tensors().size(); ++k) {
    const Tensor& t = *w.tensors()[k];
    if (!t.trainable) continue;
    for (size_t b = 0; b < t.value().size(); b += kChunk) chunks.push_back({k, b, std::min(t.value().size(), b + kChunk)});
  }
  return chunks;
}

template <typename F>
void for_chunks(const std::vector<Chunk>& chunks, ThreadPool& pool, F&& fn) {
  pool.run([&](int thread, int n_threads) {
    for (size_t i = size_t(thread); i < chunks.size(); i += size_t(n_threads)) fn(i, chunks[i]);
  });
}

}  // namespace

double global_grad_norm(const Weights& weights, ThreadPool& pool) {
  const std::vector<Chunk> chunks = trainable_chunks(weights);
  std::vector<double> partial(chunks.size());
  for_chunks(chunks, pool, [&](size_t i, const Chunk& c) {
    const std::vector<float>& g = weights.tensors()[c.tensor]->grad;
    double sum = 0.0;
    for (size_t e = c.begin; e < c.end; ++e) sum += double(g[e]) * g[e];
    partial[i] = sum;
  });
  double sum = 0.0;
  for (double p : partial) sum += p;
  return std::sqrt(sum);
}

double clip_grad_norm(Weights& weights, double max_norm, ThreadPool& pool) {
  const double norm = global_grad_norm(weights, pool);
  if (max_norm > 0 && norm > max_norm) {
    const float scale = float(max_norm / norm);
    for_chunks(trainable_chunks(weights), pool, [&](size_t, const Chunk& c) {
      std::vector<float>& g = weights.tensors()[c.tensor]->grad;
      for (size_t e = c.begin; e < c.end; ++e) g[e] *= scale;
    });
  }
  return norm;
}

AdamW::AdamW(Weights& weights, AdamWParams params) : w_(weights), p_(params) {
  for (const auto& t : w_.tensors()) {
    m_.emplace_back(t->trainable ? t->value().size() : 0, 0.0f);
    v_.emplace_back(t->trainable ? t->value().size() : 0, 0.0f);
  }
}

void AdamW::step(double lr, ThreadPool& pool) {
  ++t_;
  const double bias1 = 1.0 - std::pow(p_.beta1, double(t_)), bias2 = 1.0 - std::pow(p_.beta2, double(t_));
  const float b1 = float(p_.beta1), b2 = float(p_.beta2);
  const float step_size = float(lr / bias1), inv_sqrt_bias2 = float(1.0 / std::sqrt(bias2)), eps = float(p_.eps);
  // Write access to every trainable tensor (which marks each changed) before
  // the threads write.
  std::vector<std::span<float>> values(w_.tensors().size());
  for (size_t k = 0; k < values.size(); ++k)
    if (w_.tensors()[k]->trainable) values[k] = w_.tensors()[k]->values_for_update();
  // Every element updates on its own, so any split over threads gives the same bits.
  for_chunks(trainable_chunks(w_), pool, [&](size_t, const Chunk& c) {
    const Tensor& t = *w_.tensors()[c.tensor];
    float* value = values[c.tensor].data();
    // Norm weights and biases are vectors: decay only pulls them toward 0, which for a norm is wrong.
    const float decay = t.shape.size() > 1 ? float(1.0 - lr * p_.weight_decay) : 1.0f;
    float* m = m_[c.tensor].data();
    float* v = v_[c.tensor].data();
    for (size_t i = c.begin; i < c.end; ++i) {
      const float g = t.grad[i];
      m[i] = b1 * m[i] + (1.0f - b1) * g;
      v[i] = b2 * v[i] + (1.0f - b2) * g * g;
      value[i] = value[i] * decay - step_size * m[i] / (std::sqrt(v[i]) * inv_sqrt_bias2 + eps);
    }
  });
}

}  // namespace s1::train
