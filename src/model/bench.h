#pragma once
// End-to-end speed of a model on this machine (`s1 bench`): prefill and decode
// throughput, peak memory, and how close decoding comes to the memory
// bandwidth that bounds it (each decode step reads every weight once).
#include <cstdint>
#include <string>

namespace s1 {

struct BenchParams {
  std::string model;
  int prompt = 512;  // prefill tokens
  int gen = 128;     // decode steps
  int threads = 0;   // 0: every core
  int batch = 1;     // sequences decoded together (forked from the prompt)
};

struct BenchResult {
  std::string model;
  int threads = 0, batch = 1, prompt = 0, gen = 0;
  double prefill_tps = 0;  // prompt tokens per second
  double decode_tps = 0;   // generated tokens per second, all sequences together
  double step_ms = 0;      // one decode step (batch tokens)
  double weight_mb_per_step = 0;       // what one token's step must read (Model::weight_bytes_per_step)
  double weight_mb_read_per_step = 0;  // what the decode steps read, measured (Context::weight_bytes_read)
  double bandwidth_gbs = 0;      // measured memory read bandwidth
  double decode_efficiency = 0;  // (weight bytes per step / step time) / bandwidth
  double peak_rss_mb = 0;        // before the bandwidth probe
};

BenchResult run_bench(const BenchParams& params);

}  // namespace s1
