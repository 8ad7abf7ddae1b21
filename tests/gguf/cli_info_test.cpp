// `s1 info` on the shared conformance models and vocab files.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace {

std::string model(const std::string& name) { return (s1test::shared_dir() / "conformance/models" / name).string(); }

nlohmann::json info_json(const std::string& path) {
  auto r = s1test::run_s1({"info", "-m", path, "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(r.out);
}

}  // namespace

TEST(CliInfo, JsonDescribesQwen3Model) {
  auto j = info_json(model("qwen3-q4_k_m.gguf"));
  EXPECT_EQ(j["architecture"], "qwen3");
  EXPECT_EQ(j["layers"], 2);
  EXPECT_EQ(j["embedding"], 256);
  EXPECT_EQ(j["heads"], 4);
  EXPECT_EQ(j["kv_heads"], 2);
  EXPECT_EQ(j["head_dim"], 128);  // key_length, not embd / heads
  EXPECT_EQ(j["feed_forward"], 768);
  EXPECT_EQ(j["context_length"], 4096);
  EXPECT_EQ(j["rope_theta"], 1e6);
  EXPECT_EQ(j["rope_type"], "neox");
  EXPECT_EQ(j["file_type"], "Q4_K - Medium");
  EXPECT_EQ(j["tied_output"], false);
  EXPECT_EQ(j["weight_types"]["q4_K"], 13);
  EXPECT_EQ(j["weight_types"]["q6_K"], 3);
  EXPECT_EQ(j["weight_types"]["f32"], 9);
  EXPECT_EQ(j["tensors"], 25);
  EXPECT_EQ(j["vocab_size"], 512);
  EXPECT_EQ(j["tokenizer_model"], "gpt2");
  EXPECT_EQ(j["tokenizer_pre"], "qwen2");
  EXPECT_EQ(j["chat_template"], false);
  EXPECT_EQ(j["file_size"], 1373920);
}

TEST(CliInfo, HeadDimDefaultsToEmbdOverHeadsAndCountsParameters) {
  auto j = info_json(model("llama-f32.gguf"));
  EXPECT_EQ(j["architecture"], "llama");
  EXPECT_EQ(j["head_dim"], 32);  // 256 / 8
  EXPECT_EQ(j["rope_type"], "normal");
  EXPECT_EQ(j["tied_output"], true);
  // Tied llama 2x256, ff 768, vocab 512: embeddings + 2 blocks + output norm.
  uint64_t block = 4 * 256 * 256 + 3 * 256 * 768 + 2 * 256;
  EXPECT_EQ(j["parameters"], 512 * 256 + 2 * block + 256);
}

TEST(CliInfo, VocabOnlyFileHasTemplateAndNoTensors) {
  auto j = info_json((s1test::shared_dir() / "tokenizer/ggml-vocab-qwen2.gguf").string());
  EXPECT_EQ(j["vocab_size"], 151936);
  EXPECT_EQ(j["chat_template"], true);
  EXPECT_EQ(j["tensors"], 0);
  EXPECT_EQ(j["parameters"], 0);
  EXPECT_TRUE(j["tied_output"].is_null());
}

TEST(CliInfo, HumanOutputIsAlignedLines) {
  auto r = s1test::run_s1({"info", "-m", model("qwen2-f16.gguf")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\narchitecture    qwen2\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nhead dim        64\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nrope            neox, theta 1000000\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nweights         27 tensors: f16 x 16, f32 x 11\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\ntokenizer       gpt2 (pre qwen2)\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nchat template   no\n"), std::string::npos) << r.out;
  // Every value starts in the same column.
  size_t start = 0, column = std::string::npos;
  while (start < r.out.size()) {
    size_t end = r.out.find('\n', start);
    std::string line = r.out.substr(start, end - start);
    size_t value = line.find_first_not_of(' ', line.find("  "));
    if (column == std::string::npos) column = value;
    EXPECT_EQ(value, column) << line;
    start = end + 1;
  }
}

TEST(CliInfo, BadFileIsAnErrorNamingIt) {
  auto dir = s1test::temp_dir("info");
  s1test::write_file(dir / "junk.gguf", "GGUF\x01\0\0\0 not really");
  auto r = s1test::run_s1({"info", "-m", (dir / "junk.gguf").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("junk.gguf: "), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
  r = s1test::run_s1({"info", "-m", (dir / "missing.gguf").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("missing.gguf"), std::string::npos) << r.err;
}
