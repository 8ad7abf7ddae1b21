// Qwen3.5's hybrids (qwen35, and qwen35moe with experts and a shared one):
// Gated DeltaNet layers keep a fixed recurrent state per sequence. A prompt run in chunks equals the same tokens one at a
// time; two sequences in one batch equal each run alone; a fork continued
// greedily equals an unforked run token for token; the state cannot be rolled
// back, and says so; inconsistent metadata is a one-line error naming the key.
// Agreement with llama.cpp is tests/conformance/architectures_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "gguf/gguf.h"
#include "model/context.h"
#include "model/model.h"
#include "model/edited_model.h"
#include "support/test_support.h"
#include "util/error.h"

namespace {

using s1::Model;

std::string make_model(const std::string& arch, const std::string& tag, const std::vector<std::string>& extra = {}) {
  const auto path = (s1test::temp_dir(tag) / (arch + ".gguf")).string();
  std::vector<std::string> args = {"mkmodel", "--arch", arch, "--seed", "5", "-o", path};
  args.insert(args.end(), extra.begin(), extra.end());
  const auto r = s1test::run_s1(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return path;
}

std::string make_qwen35(const std::string& tag, const std::vector<std::string>& extra = {}) {
  return make_model("qwen35", tag, extra);
}

using s1test::load_error;
using s1test::with_key;

const std::vector<int32_t> kPrompt = {5, 77, 101, 9, 200, 31, 64, 250, 18, 3, 140, 99, 12, 7, 180, 44, 2, 91, 66, 123};

// Every position's logits of kPrompt, one token per decode.
std::vector<float> one_at_a_time(const Model& model) {
  s1::Context ctx(model, {.n_ctx = 64, .n_threads = 2});
  const int seq = ctx.new_sequence();
  std::vector<float> rows;
  for (int32_t t : kPrompt) {
    const auto row = ctx.append(seq, std::span<const int32_t>(&t, 1));
    rows.insert(rows.end(), row.begin(), row.end());
  }
  return rows;
}

void expect_rows_near(const std::vector<float>& got, const std::vector<float>& want, int n_vocab) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], 1e-4f) << "position " << i / size_t(n_vocab);
}

TEST(DeltaNet, InfoNamesTheRecurrentLayers) {
  const auto r = s1test::run_s1({"info", "-m", make_qwen35("q35-info"), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["architecture"], "qwen35");
  EXPECT_EQ(j["recurrent_layers"], 3);  // 4 layers, every 4th full attention
  // Per recurrent layer: the convolution's last 3 inputs of q|k|v (2·32 + 64
  // channels) and 4 value heads' 16×16 states, in f32.
  EXPECT_EQ(j["recurrent_state_bytes"], 3 * 4 * (3 * 128 + 4 * 16 * 16));
}

TEST(DeltaNet, InconsistentMetadataNamesTheKey) {
  const auto path = make_qwen35("q35-meta");
  const std::string inner = load_error(with_key(path, "qwen35.ssm.inner_size", s1::gguf::Value{uint32_t(48)}));
  EXPECT_NE(inner.find("qwen35.ssm.inner_size 48 is not ssm.time_step_rank 4 × ssm.state_size 16"),
            std::string::npos)
      << inner;
  const std::string heads = load_error(with_key(path, "qwen35.ssm.group_count", s1::gguf::Value{uint32_t(3)}));
  EXPECT_NE(heads.find("ssm.time_step_rank 4 (value heads) is not a multiple of ssm.group_count 3"),
            std::string::npos)
      << heads;
  s1::gguf::Array flags{s1::gguf::ValueType::BOOL, {}};
  for (int i = 0; i < 3; ++i) flags.items.push_back(s1::gguf::Value{true});
  const std::string list = load_error(with_key(path, "qwen35.attention.recurrent_layers", s1::gguf::Value{flags}));
  EXPECT_NE(list.find("qwen35.attention.recurrent_layers has 3 entries but the model has 4 layers"),
            std::string::npos)
      << list;
  const std::string missing = load_error(with_key(path, "qwen35.ssm.state_size", s1::gguf::Value{uint32_t(0)}));
  EXPECT_NE(missing.find("qwen35.ssm.state_size is 0"), std::string::npos) << missing;
  for (const auto* e : {&inner, &heads, &list, &missing}) EXPECT_EQ(e->find('\n'), std::string::npos);
}

// A layer list that is not every 4th: all layers recurrent but the first.
TEST(DeltaNet, RecurrentLayerListIsFollowed) {
  const auto path = make_qwen35("q35-list");
  s1::gguf::Array flags{s1::gguf::ValueType::BOOL, {}};
  for (int i = 0; i < 4; ++i) flags.items.push_back(s1::gguf::Value{i != 0});
  const std::string edited = with_key(path, "qwen35.attention.recurrent_layers", s1::gguf::Value{flags});
  // The tensors still describe layer 3 as attention and layer 0 as recurrent.
  const std::string error = load_error(edited);
  EXPECT_NE(error.find("tensor 'blk.0.attn_q.weight' is missing"), std::string::npos) << error;
}

// The same behaviour for the dense and the mixture-of-experts hybrid.
class DeltaNetModels : public testing::TestWithParam<const char*> {};

TEST_P(DeltaNetModels, ChunkedPrefillEqualsTokenByToken) {
  auto model = Model::load(make_model(GetParam(), "q35-chunks", {"--type", "q8_0"}));
  const auto want = one_at_a_time(*model);
  for (int chunk : {1, 7, 256}) {
    s1::Context ctx(*model, {.n_ctx = 64, .n_threads = 2, .max_chunk = chunk});
    const int seq = ctx.new_sequence();
    s1::Batch batch;
    for (size_t i = 0; i < kPrompt.size(); ++i) batch.add(kPrompt[i], int(i), seq, true);
    const auto rows = ctx.decode(batch);
    SCOPED_TRACE("max_chunk " + std::to_string(chunk));
    expect_rows_near({rows.begin(), rows.end()}, want, model->config().n_vocab);
  }
}

TEST_P(DeltaNetModels, TwoSequencesInOneBatchEqualEachAlone) {
  auto model = Model::load(make_model(GetParam(), "q35-two"));
  const int n_vocab = model->config().n_vocab;
  const auto want = one_at_a_time(*model);
  s1::Context ctx(*model, {.n_ctx = 128, .n_threads = 2});
  const int a = ctx.new_sequence(), b = ctx.new_sequence();
  s1::Batch batch;  // interleaved: a0 b0 a1 b1 ...
  for (size_t i = 0; i < kPrompt.size(); ++i) {
    batch.add(kPrompt[i], int(i), a, true);
    batch.add(kPrompt[i], int(i), b, true);
  }
  const auto rows = ctx.decode(batch);
  std::vector<float> got_a, got_b;
  for (size_t i = 0; i < kPrompt.size(); ++i) {
    const float* ra = rows.data() + (2 * i) * size_t(n_vocab);
    got_a.insert(got_a.end(), ra, ra + n_vocab);
    got_b.insert(got_b.end(), ra + n_vocab, ra + 2 * n_vocab);
  }
  expect_rows_near(got_a, want, n_vocab);
  expect_rows_near(got_b, want, n_vocab);
}

int32_t argmax(const float* row, int n) { return int32_t(std::max_element(row, row + n) - row); }

std::vector<int32_t> greedy(s1::Context& ctx, int seq, std::span<const float> logits, int n) {
  std::vector<int32_t> out;
  int32_t next = argmax(logits.data(), ctx.n_vocab());
  for (int i = 0; i < n; ++i) {
    out.push_back(next);
    next = argmax(ctx.append(seq, std::span<const int32_t>(&out.back(), 1)).data(), ctx.n_vocab());
  }
  return out;
}

TEST_P(DeltaNetModels, ForkContinuedGreedilyEqualsAnUnforkedRun) {
  auto model = Model::load(make_model(GetParam(), "q35-fork"));
  s1::Context plain(*model, {.n_ctx = 128, .n_threads = 2});
  const int p = plain.new_sequence();
  const auto want = greedy(plain, p, plain.append(p, kPrompt), 24);

  s1::Context ctx(*model, {.n_ctx = 256, .n_threads = 2});
  const int parent = ctx.new_sequence();
  const auto prompt_logits = ctx.append(parent, kPrompt);
  const std::vector<float> saved(prompt_logits.begin(), prompt_logits.end());
  const int child = ctx.fork(parent);
  EXPECT_EQ(ctx.computed(child), 0);
  // The parent moves on first (its state changes); the child's copy must not.
  const auto parent_tokens = greedy(ctx, parent, saved, 24);
  const auto child_tokens = greedy(ctx, child, saved, 24);
  EXPECT_EQ(parent_tokens, want);
  EXPECT_EQ(child_tokens, want);
}

TEST_P(DeltaNetModels, StateCannotBeRolledBack) {
  auto model = Model::load(make_model(GetParam(), "q35-truncate"));
  s1::Context ctx(*model, {.n_ctx = 64, .n_threads = 2});
  const int seq = ctx.new_sequence();
  ctx.append(seq, kPrompt);
  EXPECT_TRUE(ctx.can_truncate(seq, int(kPrompt.size())));
  EXPECT_FALSE(ctx.can_truncate(seq, 5));
  try {
    ctx.truncate(seq, 5);
    FAIL() << "truncate went back";
  } catch (const s1::Error& e) {
    EXPECT_NE(std::string(e.what()).find("recurrent layers keep only the last position's state"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(ctx.length(seq), int(kPrompt.size()));
  // A removed sequence's id comes back with a fresh state.
  ctx.remove(seq);
  const int again = ctx.new_sequence();
  std::vector<float> rows;
  for (int32_t t : kPrompt) {
    const auto row = ctx.append(again, std::span<const int32_t>(&t, 1));
    rows.insert(rows.end(), row.begin(), row.end());
  }
  expect_rows_near(rows, one_at_a_time(*model), model->config().n_vocab);
}

// A decay so strong that e^g underflows to 0 (a real model's gate can ask
// for that): the state empties at every token, and nothing becomes NaN.
TEST(DeltaNet, ADecayToZeroEmptiesTheStateWithoutNaN) {
  const auto path = make_qwen35("q35-decay");
  const auto src = s1::gguf::File::open(path);
  s1::gguf::Writer w;
  for (const auto& [key, value] : src.metadata()) w.set(key, value);
  for (const auto& t : src.tensors()) {
    if (!t.name.ends_with(".ssm_a")) {
      w.add_tensor_view(t.name, t.type, t.shape, std::span<const uint8_t>(t.data, size_t(t.n_bytes)));
      continue;
    }
    std::vector<float> decay(size_t(t.n_elements), -1e4f);
    std::vector<uint8_t> bytes(decay.size() * 4);
    std::memcpy(bytes.data(), decay.data(), bytes.size());
    w.add_tensor(t.name, t.type, t.shape, std::move(bytes));
  }
  const auto edited = (s1test::temp_dir("q35-decay-edited") / "decay.gguf").string();
  w.write(edited);
  auto model = Model::load(edited);
  const auto rows = one_at_a_time(*model);
  for (float x : rows) ASSERT_TRUE(std::isfinite(x));
  s1::Context ctx(*model, {.n_ctx = 64, .n_threads = 2});
  const int seq = ctx.new_sequence();
  s1::Batch batch;
  for (size_t i = 0; i < kPrompt.size(); ++i) batch.add(kPrompt[i], int(i), seq, true);
  const auto batched = ctx.decode(batch);
  expect_rows_near({batched.begin(), batched.end()}, rows, model->config().n_vocab);
}

INSTANTIATE_TEST_SUITE_P(Archs, DeltaNetModels, testing::Values("qwen35", "qwen35moe"),
                         [](const auto& info) { return std::string(info.param); });

// The shared expert runs for every token and counts in the bytes a step reads.
TEST(DeltaNet, SharedExpertIsReadEveryStep) {
  auto model = Model::load(make_model("qwen35moe", "q35moe-bytes"));
  const auto& c = model->config();
  ASSERT_TRUE(c.has_shared_expert);
  EXPECT_EQ(c.n_ff_shexp, 32);
  const uint64_t shared = 4ull * 3 * c.n_embd * c.n_ff_shexp;
  const uint64_t routed = 4ull * c.n_expert_used * 3 * c.n_embd * c.n_ff_exp;
  s1::Context ctx(*model, {.n_ctx = 64, .n_threads = 2});
  const int seq = ctx.new_sequence();
  ctx.append(seq, std::vector<int32_t>{1, 2, 3});
  const uint64_t before = ctx.weight_bytes_read();
  const int32_t next = 4;
  ctx.append(seq, std::span<const int32_t>(&next, 1));
  EXPECT_EQ(ctx.weight_bytes_read() - before, model->weight_bytes_per_step());
  EXPECT_GE(model->weight_bytes_per_step(), c.n_layer * (shared + routed));
}

// Qwen3.5's own template and vocabulary: thinking is detected, budget forcing
// ends it at the budget, and nothing is computed twice.
TEST(DeltaNet, BudgetForcingWithTheQwen35TemplateAndVocabulary) {
  const auto shared = s1test::shared_dir();
  const auto path = make_qwen35("q35-budget", {"--vocab-from", (shared / "tokenizer/ggml-vocab-qwen35.gguf").string(),
                                               "--chat-template", (shared / "templates/Qwen3.5-4B.jinja").string()});
  const auto r = s1test::run_s1({"run", "-m", path, "-p", "What is 2+2?", "--think-max", "8", "-n", "24", "--temp",
                                 "0", "--json", "--threads", "2", "--samples", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j.contains("samples")) << r.out;
  int generated = 0;
  for (const auto& s : j["samples"]) {
    EXPECT_EQ(s["thinking_tokens"], 8);
    EXPECT_TRUE(s["forced_end"].get<bool>());
    generated += s["thinking_tokens"].get<int>() + s["answer_tokens"].get<int>();
  }
  // The prompt once (the second sample forks it), each sample's tokens and the
  // appended ends of thinking once, but for each sample's last token, which
  // is never fed back.
  EXPECT_EQ(j["computed_tokens"].get<int>() + 2,
            j["prompt_tokens"].get<int>() + generated + j["appended_tokens"].get<int>());
}

}  // namespace
