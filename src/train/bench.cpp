#include "train/bench.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <vector>

#include "gguf/gguf.h"
#include "tensor/matmul.h"
#include "train/matmul_bf16.h"
#include "train/optimizer.h"
#include "train/transformer.h"
#include "util/thread_pool.h"

namespace s1::train {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// The best of a few runs of a large square-ish F32 matmul: the most our
// kernel delivers on these threads (the denominator of MFU).
double matmul_peak_gflops(ThreadPool& pool, bool bf16) {
  const int64_t rows = 2048, cols = 2048, tokens = 512;
  std::vector<float> w(size_t(rows * cols), 0.01f), in(size_t(tokens * cols), 0.5f), out(size_t(tokens * rows));
  const WeightMatrix m{DType::F32, reinterpret_cast<const uint8_t*>(w.data()), rows, cols, size_t(cols) * 4};
  Bf16Rows w16, in16;
  to_bf16_rows(w.data(), rows, cols, w16);
  to_bf16_rows(in.data(), tokens, cols, in16);
  double best = 1e30;
  for (int i = 0; i < 4; ++i) {
    const auto t = std::chrono::steady_clock::now();
    if (bf16)
      matmul_bf16(w16, in16, out.data(), pool);
    else
      matmul(m, in.data(), tokens, out.data(), pool);
    best = std::min(best, seconds_since(t));
  }
  return 2.0 * double(rows * cols * tokens) / best / 1e9;
}

}  // namespace

TrainBenchResult run_train_bench(const TrainBenchParams& p) {
  const gguf::File file = gguf::File::open(p.model);
  Weights w = Weights::from_gguf(file);
  ThreadPool pool(p.threads > 0 ? p.threads : std::max(available_cores(), 1));
  Transformer model(w, pool, p.bf16);
  AdamW opt(w, {});

  // One packed sequence of pseudo-random tokens with a loss on every position.
  std::vector<int32_t> tokens(size_t(p.tokens) + 1);
  uint64_t state = 12345;
  for (auto& t : tokens) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    t = int32_t((state >> 33) % uint64_t(w.config().n_vocab));
  }
  TokenBatch batch;
  batch.add_example(tokens, std::vector<uint8_t>(tokens.size(), 1));

  TrainBenchResult r;
  r.parameters = w.parameter_count();
  r.tokens = p.tokens;
  r.threads = pool.size();
  auto step = [&] {
    w.zero_grad();
    model.forward(batch);
    model.backward(1.0f / float(batch.loss_tokens()));
    clip_grad_norm(w, 1.0, pool);
    opt.step(1e-5, pool);
  };
  step();  // warm-up: allocations, page faults
  r.forward_s = r.step_s = r.forward_cpu_s = r.step_cpu_s = 1e30;
  auto cpu_seconds = [] { return double(std::clock()) / CLOCKS_PER_SEC; };
  for (int i = 0; i < p.steps; ++i) {
    auto t = std::chrono::steady_clock::now();
    double cpu = cpu_seconds();
    model.forward(batch);
    r.forward_s = std::min(r.forward_s, seconds_since(t));
    r.forward_cpu_s = std::min(r.forward_cpu_s, cpu_seconds() - cpu);
    t = std::chrono::steady_clock::now();
    cpu = cpu_seconds();
    step();
    r.step_s = std::min(r.step_s, seconds_since(t));
    r.step_cpu_s = std::min(r.step_cpu_s, cpu_seconds() - cpu);
  }
  r.tokens_per_s = double(p.tokens) / r.step_s;
  r.matmul_peak_gflops = matmul_peak_gflops(pool, p.bf16);
  r.mfu = 6.0 * double(r.parameters) * r.tokens_per_s / (r.matmul_peak_gflops * 1e9);
  return r;
}

}  // namespace s1::train
