// Memory read bandwidth with the thread pool, 1 and 2 (or all) threads: the
// ceiling decode speed is measured against.
#include <benchmark/benchmark.h>

#include "util/bandwidth.h"
#include "util/thread_pool.h"

namespace {

void BM_ReadBandwidth(benchmark::State& state) {
  s1::ThreadPool pool(int(state.range(0)));
  double gbs = 0;
  for (auto _ : state) gbs = s1::measure_read_bandwidth_gbs(pool);
  state.counters["GB/s"] = gbs;
}
BENCHMARK(BM_ReadBandwidth)->Arg(1)->Arg(2)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
