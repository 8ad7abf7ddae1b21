// matmul() per weight type on Qwen2.5-0.5B-like FFN shapes, and for the
// 32-element block types gpt-oss-20b's 2880 x 2880 (rows of 11.25 activation
// groups). Decode sizes (1 and
// 8 tokens) cycle through enough copies of the matrix (256 MiB) that the
// weights come from memory, as in a real decode step: GB/s is the weight bytes
// moved per second. Prefill (512 tokens) reuses one matrix: GFLOP/s counts
// 2 * rows * cols * tokens. Counters print as weight_GB=x/s and GFLOP=y/s.
//   build-X/bench_matmul --benchmark_filter='q4_K'
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tensor/blocks.h"
#include "tensor/matmul.h"
#include "util/thread_pool.h"

namespace {

using s1::DType;

constexpr size_t kDecodeFootprint = size_t(256) << 20;

// Random bytes with every f16 scale field set to a small positive number
// (random bits would make some scales NaN or huge); plain types get values.
std::vector<uint8_t> random_matrix(DType type, int64_t rows, int64_t cols) {
  std::vector<uint8_t> data(s1::row_bytes(type, uint64_t(cols)) * size_t(rows));
  std::mt19937_64 rng(42);
  for (size_t i = 0; i + 8 <= data.size(); i += 8) {
    const uint64_t v = rng();
    std::memcpy(data.data() + i, &v, 8);
  }
  const uint16_t scale = s1::f32_to_f16(0.01f);
  auto set_f16 = [&](size_t block_bytes, std::initializer_list<size_t> offsets) {
    for (size_t b = 0; b + block_bytes <= data.size(); b += block_bytes)
      for (size_t off : offsets) std::memcpy(data.data() + b + off, &scale, 2);
  };
  switch (type) {
    case DType::F32:
      for (size_t i = 0; i < data.size() / 4; ++i) {
        const float v = float(int(i % 2001) - 1000) * 1e-3f;
        std::memcpy(data.data() + 4 * i, &v, 4);
      }
      break;
    case DType::F16:
    case DType::BF16:
      for (size_t i = 0; i < data.size() / 2; ++i) {
        const float v = float(int(i % 2001) - 1000) * 1e-3f;
        const uint16_t h = type == DType::F16 ? s1::f32_to_f16(v) : s1::f32_to_bf16(v);
        std::memcpy(data.data() + 2 * i, &h, 2);
      }
      break;
    case DType::Q4_0: set_f16(sizeof(s1::block_q4_0), {0}); break;
    case DType::Q5_0: set_f16(sizeof(s1::block_q5_0), {0}); break;
    case DType::Q8_0: set_f16(sizeof(s1::block_q8_0), {0}); break;
    case DType::MXFP4:  // scale 2^(121 - 128) = 0.0078
      for (size_t b = 0; b + sizeof(s1::block_mxfp4) <= data.size(); b += sizeof(s1::block_mxfp4)) data[b] = 121;
      break;
    case DType::Q4_K: set_f16(sizeof(s1::block_q4_K), {0, 2}); break;
    case DType::Q5_K: set_f16(sizeof(s1::block_q5_K), {0, 2}); break;
    case DType::Q6_K: set_f16(sizeof(s1::block_q6_K), {offsetof(s1::block_q6_K, d)}); break;
    default: break;
  }
  return data;
}

// `copies` back-to-back copies of one random matrix.
struct Weights {
  std::vector<uint8_t> bytes;
  size_t matrix_bytes = 0;
  int copies = 0;
};

const Weights& weights(DType type, int64_t rows, int64_t cols, bool from_memory) {
  static std::map<std::tuple<DType, int64_t, int64_t, bool>, std::unique_ptr<Weights>> cache;
  auto& slot = cache[{type, rows, cols, from_memory}];
  if (!slot) {
    cache.clear();  // keep one set resident at a time
    auto w = std::make_unique<Weights>();
    const auto one = random_matrix(type, rows, cols);
    w->matrix_bytes = one.size();
    w->copies = from_memory ? int(std::max<size_t>(1, kDecodeFootprint / one.size())) : 1;
    w->bytes.resize(one.size() * size_t(w->copies));
    for (int c = 0; c < w->copies; ++c) std::memcpy(w->bytes.data() + size_t(c) * one.size(), one.data(), one.size());
    return *(cache[{type, rows, cols, from_memory}] = std::move(w));
  }
  return *slot;
}

void BM_Matmul(benchmark::State& state, DType type, int64_t rows, int64_t cols) {
  const int64_t n_tokens = state.range(0);
  const int threads = int(state.range(1));
  const bool decode = n_tokens <= 16;
  const Weights& w = weights(type, rows, cols, decode);
  std::vector<float> x(size_t(n_tokens * cols)), out(size_t(n_tokens * rows));
  std::mt19937 rng(1);
  std::normal_distribution<float> gauss;
  for (auto& v : x) v = gauss(rng);
  s1::ThreadPool pool(threads);
  int copy = 0;
  for (auto _ : state) {
    const s1::WeightMatrix m{type, w.bytes.data() + size_t(copy) * w.matrix_bytes, rows, cols,
                             s1::row_bytes(type, uint64_t(cols))};
    s1::matmul(m, x.data(), n_tokens, out.data(), pool);
    benchmark::DoNotOptimize(out.data());
    if (++copy == w.copies) copy = 0;
  }
  using benchmark::Counter;
  state.counters["weight_GB"] = Counter(double(w.matrix_bytes) / 1e9, Counter::kIsIterationInvariantRate);
  state.counters["GFLOP"] = Counter(2e-9 * double(rows * cols * n_tokens), Counter::kIsIterationInvariantRate);
}

int register_all() {
  for (DType type : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q5_0, DType::MXFP4,
                     DType::Q4_K, DType::Q5_K, DType::Q6_K}) {
    // ffn_up / gate (4864 x 896) and ffn_down (896 x 4864); the K formats need
    // 256-multiples, so their "up" shape reads 1024 columns.
    const bool block32 = s1::traits(type).block_elems == 32;
    const int64_t up_cols = s1::traits(type).block_elems == 256 ? 1024 : 896;
    struct Shape {
      const char* name;
      int64_t rows, cols;
    };
    std::vector<Shape> shapes = {{"up", 4864, up_cols}, {"down", 896, 4864}};
    if (block32) shapes.push_back({"gptoss", 2880, 2880});
    for (const auto& shape : shapes) {
      const std::string name = std::string("matmul/") + std::string(s1::dtype_name(type)) + "/" + shape.name + "_" +
                               std::to_string(shape.rows) + "x" + std::to_string(shape.cols);
      benchmark::RegisterBenchmark(name.c_str(), BM_Matmul, type, shape.rows, shape.cols)
          ->ArgNames({"tokens", "threads"})
          ->ArgsProduct({{1, 8, 512}, {1, 2}})
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
    }
  }
  return 0;
}

const int registered = register_all();

}  // namespace
