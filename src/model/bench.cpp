#include "model/bench.h"

#include <sys/resource.h>

#include <chrono>
#include <vector>

#include "model/context.h"
#include "model/model.h"
#include "tensor/reduce.h"
#include "util/bandwidth.h"
#include "util/error.h"
#include "util/thread_pool.h"

namespace s1 {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

// Deterministic token ids spread over the vocabulary.
std::vector<int32_t> bench_tokens(int n, int n_vocab) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  uint32_t x = 12345;
  for (auto& id : t) {
    x = x * 1664525u + 1013904223u;
    id = int32_t((x >> 8) % uint32_t(n_vocab));
  }
  return t;
}

int argmax(std::span<const float> row) { return int(reduce::argmax(row.data(), int64_t(row.size()))); }

}  // namespace

BenchResult run_bench(const BenchParams& p) {
  if (p.prompt < 1 || p.gen < 1 || p.batch < 1) fail("bench: --prompt, --gen and --batch must be at least 1");
  auto model = Model::load(p.model);
  const int n_ctx = p.prompt + p.batch * (p.gen + KvCache::kBlockTokens);
  Context ctx(*model, {.n_ctx = n_ctx, .n_threads = p.threads, .max_sequences = p.batch});

  BenchResult r;
  r.model = p.model;
  r.threads = ctx.n_threads();
  r.batch = p.batch;
  r.prompt = p.prompt;
  r.gen = p.gen;

  const auto prompt = bench_tokens(p.prompt, ctx.n_vocab());
  const int first = ctx.new_sequence();
  auto start = Clock::now();
  const int next = argmax(ctx.append(first, prompt));
  r.prefill_tps = p.prompt / seconds_since(start);

  // Parallel samples share the prompt; each step decodes one token of every sequence.
  std::vector<int> seqs = {first};
  while (int(seqs.size()) < p.batch) seqs.push_back(ctx.fork(first));
  std::vector<int32_t> current(seqs.size(), next);
  const uint64_t read_before = ctx.weight_bytes_read();
  start = Clock::now();
  for (int step = 0; step < p.gen; ++step) {
    Batch batch;
    for (size_t i = 0; i < seqs.size(); ++i) batch.add(current[i], ctx.length(seqs[i]), seqs[i], true);
    auto rows = ctx.decode(batch);
    for (size_t i = 0; i < seqs.size(); ++i)
      current[i] = argmax(rows.subspan(i * size_t(ctx.n_vocab()), size_t(ctx.n_vocab())));
  }
  const double decode_s = seconds_since(start);
  r.decode_tps = double(p.gen) * p.batch / decode_s;
  r.step_ms = decode_s / p.gen * 1e3;
  r.weight_mb_per_step = double(model->weight_bytes_per_step()) / 1e6;
  r.weight_mb_read_per_step = double(ctx.weight_bytes_read() - read_before) / p.gen / 1e6;
  r.peak_rss_mb = peak_rss_mb();

  // 1 GiB: beyond the last-level cache of any machine we run on, so the probe
  // measures memory as decoding a large model sees it.
  r.bandwidth_gbs = measure_read_bandwidth_gbs(ctx.pool(), size_t(1) << 30);
  r.decode_efficiency = (r.weight_mb_per_step * 1e6 / (r.step_ms * 1e-3)) / (r.bandwidth_gbs * 1e9);
  return r;
}

}  // namespace s1
