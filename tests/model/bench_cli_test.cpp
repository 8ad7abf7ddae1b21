// `s1 bench` end to end on a small model: the JSON fields callers rely on.
// (Speed itself is not asserted; benches measure it.)
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace {

TEST(BenchCommand, PrintsOneJsonObjectAndClampsThreads) {
  const auto model = (s1test::shared_dir() / "conformance" / "models" / "qwen2-q8_0.gguf").string();
  auto r = s1test::run_s1({"bench", "-m", model, "--prompt", "20", "--gen", "4", "--batch", "3", "--threads",
                           "100000", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("100000 threads requested"), std::string::npos) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  for (const char* key : {"prefill_tps", "decode_tps", "bandwidth_gbs", "decode_efficiency", "peak_rss_mb"}) {
    ASSERT_TRUE(j.contains(key)) << key;
    EXPECT_GT(j[key].get<double>(), 0.0) << key;
  }
  EXPECT_EQ(j["batch"], 3);
  EXPECT_EQ(j["prompt"], 20);
  EXPECT_EQ(j["gen"], 4);
  EXPECT_EQ(j["model"], model);
  EXPECT_LE(j["threads"].get<int>(), 100000);
}

TEST(BenchCommand, ReasoningModeProcessesTheSharedPromptOnce) {
  const auto model = (s1test::shared_dir() / "conformance" / "models" / "qwen2-q8_0.gguf").string();
  auto r = s1test::run_s1({"bench", "-m", model, "--reasoning", "--prompt", "24", "--gen", "6", "--samples", "4",
                           "--repeats", "1", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  for (const char* key : {"plain_decode_tps", "controlled_decode_tps", "single_decode_tps", "parallel_decode_tps",
                          "parallel_speedup"}) {
    ASSERT_TRUE(j.contains(key)) << key;
    EXPECT_GT(j[key].get<double>(), 0.0) << key;
  }
  EXPECT_TRUE(j.contains("controller_overhead"));
  EXPECT_EQ(j["samples"], 4);
  // Four samples forked from one prompt: its 24 positions are computed once.
  EXPECT_EQ(j["parallel_prefill_tokens"], 24);
}

TEST(BenchCommand, MissingModelIsAnError) {
  auto r = s1test::run_s1({"bench", "-m", "/nonexistent/model.gguf"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("/nonexistent/model.gguf"), std::string::npos) << r.err;
}

}  // namespace
