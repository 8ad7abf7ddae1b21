#pragma once
// Training speed on this machine (`s1 train --bench`): tokens per second of a
// full step (forward, backward, AdamW), the step/forward time ratio, and model
// FLOP utilization: 6 · parameters · tokens/s over the measured peak of our
// own matmul kernel on the same threads (tensor/matmul.h for f32,
// train/matmul_bf16.h with --bf16).
#include <cstdint>
#include <string>

namespace s1::train {

struct TrainBenchParams {
  std::string model;  // any GGUF the engine loads (weights are widened to f32)
  int tokens = 512;   // tokens per step (one packed sequence)
  int steps = 3;      // measured steps (after one warm-up step)
  int threads = 0;
  bool bf16 = false;  // bf16 matrix products (the peak is then the bf16 kernel's)
};

struct TrainBenchResult {
  int64_t parameters = 0;
  int tokens = 0, threads = 0;
  double forward_s = 0;        // one forward pass over the tokens (with loss)
  double step_s = 0;           // forward + backward + clip + AdamW
  double forward_cpu_s = 0;    // the same in CPU time of all threads (less sensitive to a busy machine)
  double step_cpu_s = 0;
  double tokens_per_s = 0;     // tokens / step_s
  double matmul_peak_gflops = 0;
  double mfu = 0;              // 6 · parameters · tokens_per_s / peak
};

TrainBenchResult run_train_bench(const TrainBenchParams& params);

}  // namespace s1::train
