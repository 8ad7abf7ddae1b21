// gpt-oss: its metadata errors name the key; a sliding-window layer sees its
// window and nothing before it; a prompt in one batch (chunks of several
// blocks, windows starting inside a cache block) equals the same tokens one
// at a time; `s1 info` describes the windows, the cache and the YaRN scaling.
// Agreement with llama.cpp is tests/conformance/architectures_test.cpp.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "gguf/gguf.h"
#include "model/context.h"
#include "model/edited_model.h"
#include "model/model.h"
#include "model/model_checks.h"
#include "support/test_support.h"

namespace {

using s1::Model;
using s1test::load_error;
using s1test::with_key;

std::string make_gpt_oss(const std::string& tag, const std::vector<std::string>& extra = {}) {
  return s1test::make_model(tag, "gpt-oss", extra);
}

s1::gguf::Value flags(std::initializer_list<bool> values) {
  s1::gguf::Array a{s1::gguf::ValueType::BOOL, {}};
  for (bool v : values) a.items.push_back(s1::gguf::Value{v});
  return s1::gguf::Value{std::move(a)};
}

// Every position's logits of `prompt` in one batch.
std::vector<float> logits(const Model& model, const std::vector<int32_t>& prompt) {
  s1::Context ctx(model, {.n_ctx = 256, .n_threads = 2});
  const int seq = ctx.new_sequence();
  s1::Batch batch;
  for (size_t i = 0; i < prompt.size(); ++i) batch.add(prompt[i], int(i), seq, true);
  const auto out = ctx.decode(batch);
  return {out.begin(), out.end()};
}

TEST(GptOss, MetadataErrorsNameTheKey) {
  const auto path = make_gpt_oss("gpt-oss-meta");
  const std::string scaling = load_error(with_key(path, "gpt-oss.rope.scaling.type", s1::gguf::Value{std::string("su")}));
  EXPECT_NE(scaling.find("rope scaling 'su' (gpt-oss.rope.scaling.type) is not supported (supported: none, linear, "
                         "yarn)"),
            std::string::npos)
      << scaling;
  const std::string window =
      load_error(with_key(path, "gpt-oss.attention.sliding_window", s1::gguf::Value{uint32_t(0)}));
  EXPECT_NE(window.find("gpt-oss.attention.sliding_window is 0, which is not a usable size"), std::string::npos)
      << window;
  const std::string log_mul =
      load_error(with_key(path, "gpt-oss.rope.scaling.yarn_log_multiplier", s1::gguf::Value{0.1f}));
  EXPECT_NE(log_mul.find("metadata key 'gpt-oss.rope.scaling.yarn_log_multiplier' is not supported yet"),
            std::string::npos)
      << log_mul;
  const std::string pattern =
      load_error(with_key(path, "gpt-oss.attention.sliding_window_pattern", flags({true})));
  EXPECT_NE(pattern.find("gpt-oss.attention.sliding_window_pattern has 1 entries but the model has 2 layers"),
            std::string::npos)
      << pattern;
  const std::string factor = load_error(with_key(path, "gpt-oss.rope.scaling.factor", s1::gguf::Value{-2.0f}));
  EXPECT_NE(factor.find("gpt-oss.rope.scaling.factor is -2, which is not a positive number"), std::string::npos)
      << factor;
  for (const auto* e : {&scaling, &window, &log_mul, &pattern, &factor}) EXPECT_EQ(e->find('\n'), std::string::npos);
}

// With every layer windowed (window 4, 2 layers), the last position depends
// on the 7 positions up to it and no earlier one: prompts that differ before
// them give it the same logits; a difference inside them does not.
TEST(GptOss, AWindowedLayerSeesOnlyItsWindow) {
  const auto path = with_key(make_gpt_oss("gpt-oss-window", {"--set", "attention.sliding_window=4"}),
                             "gpt-oss.attention.sliding_window_pattern", flags({true, true}));
  auto model = Model::load(path);
  ASSERT_TRUE(model->config().is_windowed(0) && model->config().is_windowed(1));
  const int n_vocab = model->config().n_vocab;
  std::vector<int32_t> prompt = {5, 77, 101, 9, 200, 31, 64, 250, 18, 3, 140, 99, 17, 42};
  const auto base = logits(*model, prompt);
  auto last = [&](const std::vector<float>& rows) {
    return std::vector<float>(rows.end() - n_vocab, rows.end());
  };
  auto outside = prompt;
  for (size_t i = 0; i + 7 < prompt.size(); ++i) outside[i] = int32_t((prompt[i] + 13) % 256);
  EXPECT_EQ(last(logits(*model, outside)), last(base));
  auto inside = prompt;
  inside[prompt.size() - 7] = int32_t((prompt[prompt.size() - 7] + 13) % 256);
  EXPECT_NE(last(logits(*model, inside)), last(base));
}

TEST(GptOss, ChunksAndSingleTokensAgree) {
  auto model = Model::load(make_gpt_oss("gpt-oss-chunks", {"--type", "q8_0"}));
  std::vector<int32_t> prompt;
  for (int i = 0; i < 45; ++i) prompt.push_back(int32_t((i * 37 + 11) % 256));
  s1test::expect_batch_equals_single_tokens(*model, prompt, 13);  // chunks of 13 over the 8-position windows
}

TEST(GptOss, InfoDescribesWindowsCacheAndScaling) {
  const auto r = s1test::run_s1({"info", "-m", make_gpt_oss("gpt-oss-info"), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["architecture"], "gpt-oss");
  EXPECT_EQ(j["sliding_window"], 8);
  EXPECT_EQ(j["sliding_window_layers"], 1);             // layer 0 of 2; layer 1 attends to everything
  EXPECT_EQ(j["kv_cache_bytes_per_token"], 2 * 2 * 64 * 2);  // layers × (k, v) × 2 heads of 32 × f16
  EXPECT_EQ(j["rope_scaling"], "yarn x32 of 256 positions");
}

}  // namespace
