// Our quantizers against llama.cpp's files: the conformance models hold one
// random model as F32 and as quantized by llama-quantize, so quantizing the F32
// tensors must give the quantized file's bytes exactly.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "support/test_support.h"
#include "tensor/quant.h"

namespace s1 {
namespace {

std::string model_path(const std::string& name) {
  return (s1test::shared_dir() / "conformance" / "models" / (name + ".gguf")).string();
}

// Quantizes `source` row by row to `type`.
std::vector<uint8_t> quantize_tensor(const gguf::TensorInfo& source, DType type) {
  const int64_t row = int64_t(source.shape[0]);
  const int64_t n_rows = int64_t(source.n_elements) / row;
  std::vector<float> x(static_cast<size_t>(row));
  std::vector<uint8_t> out(row_bytes(type, source.n_elements));
  for (int64_t r = 0; r < n_rows; ++r) {
    dequantize_row(source.type, source.data + r * row_bytes(source.type, row), x.data(), row);
    quantize_row(type, x.data(), out.data() + r * row_bytes(type, row), row);
  }
  return out;
}

struct ConformancePair {
  const char* f32;
  const char* quantized;
};

class QuantConformance : public testing::TestWithParam<ConformancePair> {};

TEST_P(QuantConformance, QuantizingTheF32ModelReproducesLlamaCppsBytes) {
  const auto f32 = gguf::File::open(model_path(GetParam().f32));
  const auto quantized = gguf::File::open(model_path(GetParam().quantized));
  int n_checked = 0;
  for (const auto& expected : quantized.tensors()) {
    if (expected.type == DType::F32) continue;
    const auto* source = f32.find_tensor(expected.name);
    ASSERT_NE(source, nullptr) << expected.name;
    ASSERT_EQ(source->type, DType::F32) << expected.name;
    const auto ours = quantize_tensor(*source, expected.type);
    ASSERT_EQ(ours.size(), expected.n_bytes) << expected.name;
    size_t n_diff = 0;
    for (size_t i = 0; i < ours.size(); ++i) n_diff += ours[i] != expected.data[i];
    EXPECT_EQ(n_diff, 0u) << expected.name << " (" << dtype_name(expected.type) << ")";
    ++n_checked;
  }
  EXPECT_GT(n_checked, 0);
}

INSTANTIATE_TEST_SUITE_P(Models, QuantConformance,
                         testing::Values(ConformancePair{"qwen2-f32", "qwen2-q8_0"},
                                         ConformancePair{"qwen2-f32", "qwen2-q4_0"},
                                         ConformancePair{"qwen2-f32", "qwen2-q6_k"},
                                         ConformancePair{"qwen2-f32", "qwen2-q4_k_m"},
                                         ConformancePair{"qwen2-f32", "qwen2-q5_k_m"},
                                         ConformancePair{"qwen3-f32", "qwen3-q4_k_m"},
                                         ConformancePair{"llama-f32", "llama-q8_0"}),
                         [](const auto& info) {
                           std::string name = info.param.quantized;
                           for (char& c : name)
                             if (c == '-') c = '_';
                           return name;
                         });

TEST(QuantConformance, F16AndBF16FilesAreTheF32ModelRounded) {
  const auto f32 = gguf::File::open(model_path("qwen2-f32"));
  for (const char* name : {"qwen2-f16", "qwen2-bf16"}) {
    const auto half = gguf::File::open(model_path(name));
    for (const auto& expected : half.tensors()) {
      if (expected.type == DType::F32) continue;
      const auto ours = quantize_tensor(*f32.find_tensor(expected.name), expected.type);
      EXPECT_EQ(0, std::memcmp(ours.data(), expected.data, ours.size())) << name << " " << expected.name;
    }
  }
}

TEST(QuantConformance, Q5_0AndQ8_0OfTheOddModelDecodeAndRequantizeToThemselves) {
  // No F32 twin exists for the embd-384 model; a decoded max-abs block
  // quantizes back to the same block.
  const auto odd = gguf::File::open(model_path("qwen2odd-q4_k_m"));
  int n_checked = 0;
  for (const auto& t : odd.tensors()) {
    if (t.type != DType::Q5_0 && t.type != DType::Q8_0) continue;
    const auto ours = quantize_tensor(t, t.type);
    size_t n_diff = 0;
    for (size_t i = 0; i < ours.size(); ++i) n_diff += ours[i] != t.data[i];
    EXPECT_EQ(n_diff, 0u) << t.name;
    ++n_checked;
  }
  EXPECT_GT(n_checked, 0);
}

}  // namespace
}  // namespace s1
