// Mixture-of-experts models (qwen3moe): inconsistent metadata is a one-line
// error naming the key; a batch of tokens routed together equals the same
// tokens one at a time (grouping by expert changes nothing); a fork continues
// like the original; only the chosen experts count toward the bytes a step
// reads. Agreement with llama.cpp is tests/conformance/architectures_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "gguf/gguf.h"
#include "model/context.h"
#include "model/model.h"
#include "model/edited_model.h"
#include "model/model_checks.h"
#include "support/test_support.h"
#include "util/error.h"

namespace {

using s1::Model;

std::string make_moe(const std::string& tag, const std::vector<std::string>& extra = {}) {
  const auto path = (s1test::temp_dir(tag) / "moe.gguf").string();
  std::vector<std::string> args = {"mkmodel", "--arch", "qwen3moe", "--seed", "3", "-o", path};
  args.insert(args.end(), extra.begin(), extra.end());
  const auto r = s1test::run_s1(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return path;
}

// The file with one metadata key replaced.
using s1test::load_error;
using s1test::with_key;

TEST(Moe, InfoNamesTheExperts) {
  const auto r = s1test::run_s1({"info", "-m", make_moe("moe-info"), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["architecture"], "qwen3moe");
  EXPECT_EQ(j["experts"], 8);
  EXPECT_EQ(j["experts_used"], 2);
  EXPECT_EQ(j["expert_feed_forward"], 32);
}

TEST(Moe, InconsistentMetadataNamesTheKey) {
  const auto path = make_moe("moe-meta");
  const std::string wrong_count = load_error(with_key(path, "qwen3moe.expert_count", s1::gguf::Value{uint32_t(6)}));
  EXPECT_NE(wrong_count.find("blk.0.ffn_gate_inp.weight' has shape [64, 8] but the model config needs [64, 6] "
                             "(qwen3moe.expert_count is 6)"),
            std::string::npos)
      << wrong_count;
  EXPECT_EQ(wrong_count.find('\n'), std::string::npos);
  const std::string too_many =
      load_error(with_key(path, "qwen3moe.expert_used_count", s1::gguf::Value{uint32_t(9)}));
  EXPECT_NE(too_many.find("qwen3moe.expert_used_count 9 is more than expert_count 8"), std::string::npos) << too_many;
  const std::string zero = load_error(with_key(path, "qwen3moe.expert_count", s1::gguf::Value{uint32_t(0)}));
  EXPECT_NE(zero.find("qwen3moe.expert_count is 0, which is not a usable size"), std::string::npos) << zero;
}

TEST(Moe, BatchedRoutingEqualsOneTokenAtATime) {
  auto model = Model::load(make_moe("moe-batch", {"--type", "q8_0"}));
  s1test::expect_batch_equals_single_tokens(*model, {5, 77, 101, 9, 200, 31, 64, 250, 18, 3, 140, 99});
}

TEST(Moe, ForkContinuesLikeTheOriginal) {
  auto model = Model::load(make_moe("moe-fork"));
  s1test::expect_fork_continues_like_the_original(*model, {11, 12, 13, 14, 15, 16, 17});
}

TEST(Moe, BytesPerStepCountOnlyTheUsedExperts) {
  auto model = Model::load(make_moe("moe-bytes"));
  const auto& c = model->config();
  const uint64_t attention = 4ull * c.n_embd * (2 * c.q_dim() + 2 * c.kv_dim());
  const uint64_t router = 4ull * c.n_embd * c.n_expert;
  const uint64_t experts = 4ull * c.n_expert_used * 3 * c.n_embd * c.n_ff_exp;
  const uint64_t want = c.n_layer * (attention + router + experts) + 4ull * c.n_vocab * c.n_embd + 4ull * c.n_embd;
  EXPECT_EQ(model->weight_bytes_per_step(), want);

  // Measured: a one-token step reads exactly that (its chosen experts, no
  // others); a step of 8 sequences reads each chosen expert once, so at most
  // all experts' bytes and never 8 tokens' worth.
  s1::Context ctx(*model, {.n_ctx = 256, .n_threads = 2});
  const int seq = ctx.new_sequence();
  ctx.append(seq, std::vector<int32_t>{1, 2, 3});
  uint64_t before = ctx.weight_bytes_read();
  const int32_t next = 4;
  ctx.append(seq, std::span<const int32_t>(&next, 1));
  EXPECT_EQ(ctx.weight_bytes_read() - before, want);

  s1::Batch batch;
  std::vector<int> seqs;
  for (int i = 0; i < 8; ++i) seqs.push_back(i == 0 ? seq : ctx.fork(seq));
  for (int i = 0; i < 8; ++i) batch.add(10 + 20 * i, ctx.length(seqs[size_t(i)]), seqs[size_t(i)], true);
  before = ctx.weight_bytes_read();
  ctx.decode(batch);
  const uint64_t all_experts = 4ull * c.n_expert * 3 * c.n_embd * c.n_ff_exp;
  const uint64_t step = ctx.weight_bytes_read() - before;
  EXPECT_LE(step, want - c.n_layer * experts + c.n_layer * all_experts + 7 * 4ull * c.n_embd);
  EXPECT_GT(step, want);  // 8 tokens chose more than one token's experts
}

// Qwen3.5's chat template and vocabulary on a MoE model: the thinking format
// is detected from the template, and budget forcing ends the thinking at the
// budget without recomputing anything.
TEST(Moe, BudgetForcingWithTheQwen35TemplateAndVocabulary) {
  const auto shared = s1test::shared_dir();
  const auto path =
      make_moe("moe-q35", {"--vocab-from", (shared / "tokenizer/ggml-vocab-qwen35.gguf").string(), "--chat-template",
                           (shared / "templates/Qwen3.5-4B.jinja").string()});
  const auto r = s1test::run_s1({"run", "-m", path, "--chat", "-p", "What is 2+2?", "--think-max", "8", "-n", "24",
                                 "--temp", "0", "--json", "--threads", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["thinking_tokens"], 8);
  EXPECT_TRUE(j["forced_end"].get<bool>());
  // Prompt, thinking, the appended end of thinking and the answer, each computed once.
  EXPECT_EQ(j["computed_tokens"].get<int>() + 1, j["prompt_tokens"].get<int>() + j["thinking_tokens"].get<int>() +
                                                     j["appended_tokens"].get<int>() + j["answer_tokens"].get<int>());
}

}  // namespace
