// Encode throughput of the byte-level BPE tokenizer (single thread), in bytes
// of input per second, on English prose (GSM8K) and on C++ source code.
//   build/bench/bench_tokenizer          (run from the repository root)
// "Warm" repeats the encode with the word cache filled; "Cold" encodes with a
// freshly loaded tokenizer, as the first request after start-up does.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tokenizer/tokenizer.h"

namespace {

namespace fs = std::filesystem;

fs::path repo_dir() { return fs::path(__FILE__).parent_path().parent_path(); }

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const std::string& prose() {
  static const std::string text = read_all(repo_dir().parent_path() / "shared/datasets/gsm8k_train.jsonl");
  return text;
}

// This repository's own C++ sources, repeated up to about 2 MB.
const std::string& code() {
  static const std::string text = [] {
    std::string all;
    for (const auto& entry : fs::recursive_directory_iterator(repo_dir() / "src")) {
      const auto ext = entry.path().extension();
      if (ext == ".cpp" || ext == ".h") all += read_all(entry.path());
    }
    std::string repeated;
    while (!all.empty() && repeated.size() < (2u << 20)) repeated += all;
    return repeated;
  }();
  return text;
}

s1::Tokenizer load_qwen2() {
  return s1::Tokenizer::load((repo_dir().parent_path() / "shared/tokenizer/ggml-vocab-qwen2.gguf").string());
}

void encode_warm(benchmark::State& state, const std::string& text) {
  if (text.empty()) return state.SkipWithError("input text not found");
  const auto tok = load_qwen2();
  size_t n_tokens = 0;
  for (auto _ : state) {
    auto ids = tok.encode(text);
    n_tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations() * text.size()));
  state.counters["tokens"] = double(n_tokens);
}

void encode_cold(benchmark::State& state, const std::string& text) {
  if (text.empty()) return state.SkipWithError("input text not found");
  for (auto _ : state) {
    state.PauseTiming();
    auto tok = load_qwen2();
    state.ResumeTiming();
    auto ids = tok.encode(text);
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations() * text.size()));
}

void BM_EncodeProseWarm(benchmark::State& state) { encode_warm(state, prose()); }
void BM_EncodeProseCold(benchmark::State& state) { encode_cold(state, prose()); }
void BM_EncodeCodeWarm(benchmark::State& state) { encode_warm(state, code()); }
void BM_EncodeCodeCold(benchmark::State& state) { encode_cold(state, code()); }

void BM_Decode(benchmark::State& state) {
  const auto tok = load_qwen2();
  const auto ids = tok.encode(prose());
  for (auto _ : state) {
    auto text = tok.decode(ids);
    benchmark::DoNotOptimize(text.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations() * prose().size()));
}

BENCHMARK(BM_EncodeProseWarm)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EncodeProseCold)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_EncodeCodeWarm)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EncodeCodeCold)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_Decode)->Unit(benchmark::kMillisecond);

}  // namespace
