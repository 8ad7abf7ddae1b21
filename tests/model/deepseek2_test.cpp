// deepseek2 (multi-head latent attention + DeepSeek's experts): metadata
// errors name the key; the cache holds one latent row per token and layer,
// as `s1 info` states; a prompt in one batch equals the same tokens one at a
// time; a fork continues like the original. Agreement with llama.cpp (V2's
// softmax routing, V3's sigmoid routing with groups, bias, norm and scale) is
// tests/conformance/architectures_test.cpp.
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

std::string make_deepseek(const std::string& tag, const std::vector<std::string>& extra = {}) {
  return s1test::make_model(tag, "deepseek2", extra);
}

const std::vector<std::string> kV3Routing = {"--set", "expert_gating_func=2",       "--set", "expert_group_count=4",
                                             "--set", "expert_group_used_count=2", "--set", "expert_weights_norm=true",
                                             "--set", "expert_weights_scale=2.5",   "--set", "attention.q_lora_rank=32"};

TEST(Deepseek2, MetadataErrorsNameTheKey) {
  const auto path = make_deepseek("ds-meta");
  using V = s1::gguf::Value;
  const std::string gating = load_error(with_key(path, "deepseek2.expert_gating_func", V{uint32_t(4)}));
  EXPECT_NE(gating.find("deepseek2.expert_gating_func 4 is not supported (1: softmax, 2: sigmoid)"), std::string::npos)
      << gating;
  const std::string rank = load_error(with_key(path, "deepseek2.attention.kv_lora_rank", V{uint32_t(0)}));
  EXPECT_NE(rank.find("deepseek2.attention.kv_lora_rank is 0, which is not a usable size"), std::string::npos) << rank;
  const std::string kv_heads = load_error(with_key(path, "deepseek2.attention.head_count_kv", V{uint32_t(2)}));
  EXPECT_NE(kv_heads.find("deepseek2.attention.head_count_kv is 2; multi-head latent attention caches one latent"),
            std::string::npos)
      << kv_heads;
  const std::string key_length = load_error(with_key(path, "deepseek2.attention.key_length", V{uint32_t(40)}));
  EXPECT_NE(key_length.find("deepseek2.attention.key_length 40 / value_length 32 are not kv_lora_rank + rope dims (48)"),
            std::string::npos)
      << key_length;
  const std::string groups = load_error(with_key(path, "deepseek2.expert_group_count", V{uint32_t(3)}));
  EXPECT_NE(groups.find("deepseek2.expert_count 8 is not a multiple of expert_group_count 3"), std::string::npos)
      << groups;
  for (const auto* e : {&gating, &rank, &kv_heads, &key_length, &groups}) EXPECT_EQ(e->find('\n'), std::string::npos);

  // A file without the MLA split (attn_kv_b, before llama.cpp's converter split it) misses the MLA keys.
  auto src = s1::gguf::File::open(path);
  s1::gguf::Writer w = s1::gguf::Writer::copy_of(src);
  w.remove("deepseek2.attention.key_length_mla");
  const auto old_style = (s1test::temp_dir("ds-meta-old") / "old.gguf").string();
  w.write(old_style);
  const std::string missing = load_error(old_style);
  EXPECT_NE(missing.find("metadata key 'deepseek2.attention.key_length_mla' is missing"), std::string::npos) << missing;
}

// DeepSeek-V3's multi-token-prediction block comes after the model's own
// layers and is not run (as llama.cpp runs it only as a draft head).
TEST(Deepseek2, MultiTokenPredictionLayersAreSkipped) {
  const auto path = with_key(make_deepseek("ds-nextn"), "deepseek2.nextn_predict_layers", s1::gguf::Value{uint32_t(1)});
  auto model = Model::load(path);
  EXPECT_EQ(model->config().n_layer, 2);
  s1::Context ctx(*model, {.n_ctx = 32, .n_threads = 2});
  const int seq = ctx.new_sequence();
  EXPECT_EQ(ctx.append(seq, std::vector<int32_t>{1, 2, 3}).size(), size_t(model->config().n_vocab));
}

TEST(Deepseek2, TheCacheHoldsOneLatentRowPerTokenAndLayer) {
  const auto path = make_deepseek("ds-cache");
  const auto r = s1test::run_s1({"info", "-m", path, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  // 3 layers × (latent 32 + rope 16) × f16, where full K and V of 4 heads of 48 and 32 would be 3 × 320 × 2.
  EXPECT_EQ(j["kv_cache_bytes_per_token"], 3 * (32 + 16) * 2);
  auto model = Model::load(path);
  s1::Context ctx(*model, {.n_ctx = 64, .n_threads = 2});
  EXPECT_EQ(ctx.kv_cache().bytes_per_token(), size_t(3 * (32 + 16) * 2));
}

// A batch in chunks equals one token at a time (V3 routing: sigmoid, groups, q bottleneck).
TEST(Deepseek2, ChunksAndSingleTokensAgree) {
  auto extra = kV3Routing;
  extra.insert(extra.end(), {"--type", "q8_0"});
  auto model = Model::load(make_deepseek("ds-chunks", extra));
  ASSERT_EQ(model->config().gating, s1::ExpertGating::sigmoid);
  std::vector<int32_t> prompt;
  for (int i = 0; i < 37; ++i) prompt.push_back(int32_t((i * 53 + 7) % 256));
  s1test::expect_batch_equals_single_tokens(*model, prompt, 11);
}

TEST(Deepseek2, ForkContinuesLikeTheOriginal) {
  auto model = Model::load(make_deepseek("ds-fork"));
  s1test::expect_fork_continues_like_the_original(*model, {11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
                                                          26, 27});
}

}  // namespace
