// The model layer on the small conformance models: config reading, batched
// decoding of several sequences, fork, chunked prefill, and the errors.
#include "model/context.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "gguf/gguf.h"
#include "model/model.h"
#include "support/test_support.h"
#include "util/error.h"

namespace {

using s1::Batch;
using s1::Context;
using s1::Model;

std::string model_path(const std::string& name) {
  return (s1test::shared_dir() / "conformance" / "models" / (name + ".gguf")).string();
}

std::vector<int32_t> tokens(int n, int salt) {
  std::vector<int32_t> t;
  for (int i = 0; i < n; ++i) t.push_back((i * 37 + salt * 101 + 5) % 500);
  return t;
}

float max_abs(std::span<const float> v) {
  float m = 0;
  for (float x : v) m = std::max(m, std::fabs(x));
  return m;
}

// max |a - b| relative to max |b|
float rel_diff(std::span<const float> a, std::span<const float> b) {
  EXPECT_EQ(a.size(), b.size());
  float m = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m / max_abs(b);
}

std::vector<float> copy(std::span<const float> v) { return {v.begin(), v.end()}; }

// Rewrites a GGUF with edited metadata and tensors: `edit` gets the writer with
// the metadata copied and adds every tensor itself (see add_all_tensors).
std::string rewrite(const std::string& src_path, const std::string& tag,
                    const std::function<void(const s1::gguf::File&, s1::gguf::Writer&)>& edit) {
  auto src = s1::gguf::File::open(src_path);
  s1::gguf::Writer w;
  for (const auto& [key, value] : src.metadata()) w.set(key, value);
  edit(src, w);
  auto path = (s1test::temp_dir(tag) / "model.gguf").string();
  w.write(path);
  return path;
}

void add_all_tensors(const s1::gguf::File& src, s1::gguf::Writer& w) {
  for (const auto& t : src.tensors()) w.add_tensor_view(t.name, t.type, t.shape, {t.data, t.n_bytes});
}

TEST(ModelConfig, ReadsEachArchitecturesSwitches) {
  auto qwen2 = Model::load(model_path("qwen2-f32"));
  const auto& c2 = qwen2->config();
  EXPECT_EQ(c2.arch, "qwen2");
  EXPECT_TRUE(c2.qkv_bias);
  EXPECT_FALSE(c2.qk_norm);
  EXPECT_FALSE(c2.tied_output);
  EXPECT_EQ(c2.rope_style, s1::ops::RopeStyle::neox);
  EXPECT_EQ(c2.rope_theta, 1e6);
  EXPECT_EQ(c2.n_layer, 2);
  EXPECT_EQ(c2.n_embd, 256);
  EXPECT_EQ(c2.n_head, 4);
  EXPECT_EQ(c2.n_head_kv, 2);
  EXPECT_EQ(c2.head_dim, 64);
  EXPECT_EQ(c2.n_ff, 768);
  EXPECT_EQ(c2.n_vocab, 512);

  auto qwen3 = Model::load(model_path("qwen3-f32"));
  EXPECT_TRUE(qwen3->config().qk_norm);
  EXPECT_FALSE(qwen3->config().qkv_bias);
  EXPECT_EQ(qwen3->config().head_dim, 128);  // not 256 / 4
  EXPECT_EQ(qwen3->config().q_dim(), 512);

  auto llama = Model::load(model_path("llama-f32"));
  EXPECT_EQ(llama->config().rope_style, s1::ops::RopeStyle::normal);
  EXPECT_TRUE(llama->config().tied_output);
  EXPECT_EQ(llama->output().data, llama->token_embd().data);
  EXPECT_EQ(llama->config().rope_theta, 1e4);

  auto odd = Model::load(model_path("qwen2odd-q4_k_m"));
  EXPECT_TRUE(odd->config().tied_output);
  EXPECT_EQ(odd->config().n_embd, 384);
}

TEST(ModelConfig, WeightBytesPerStepCountsEveryMatrixOnce) {
  auto model = Model::load(model_path("qwen2-f32"));
  const auto& c = model->config();
  const uint64_t per_layer = uint64_t(c.n_embd) * (c.q_dim() + 2 * c.kv_dim()) +
                             uint64_t(c.q_dim()) * c.n_embd + 3ull * c.n_embd * c.n_ff;
  const uint64_t want = 4 * (c.n_layer * per_layer + uint64_t(c.n_vocab) * c.n_embd + c.n_embd);
  EXPECT_EQ(model->weight_bytes_per_step(), want);
}

TEST(ModelConfig, UnsupportedArchitectureNamesItAndTheSupportedList) {
  auto path = rewrite(model_path("qwen2-f32"), "arch", [](const auto& src, auto& w) {
    w.set("general.architecture", s1::gguf::Value{std::string("gpt2")});
    add_all_tensors(src, w);
  });
  try {
    Model::load(path);
    FAIL() << "loaded a gpt2 model";
  } catch (const s1::Error& e) {
    EXPECT_NE(std::string(e.what()).find("'gpt2' is not supported (supported: qwen2, qwen3, llama, qwen3moe, qwen35, qwen35moe, gpt-oss, deepseek2)"),
              std::string::npos)
        << e.what();
  }
}

TEST(ModelConfig, MissingTensorAndWrongShapeAreErrors) {
  auto missing = rewrite(model_path("qwen2-f32"), "missing", [](const auto& src, auto& w) {
    for (const auto& t : src.tensors())
      if (t.name != "blk.1.ffn_up.weight") w.add_tensor_view(t.name, t.type, t.shape, {t.data, t.n_bytes});
  });
  EXPECT_THROW(
      {
        try {
          Model::load(missing);
        } catch (const s1::Error& e) {
          EXPECT_NE(std::string(e.what()).find("'blk.1.ffn_up.weight' is missing"), std::string::npos);
          throw;
        }
      },
      s1::Error);
  auto wrong = rewrite(model_path("qwen2-f32"), "shape", [](const auto& src, auto& w) {
    w.set("qwen2.feed_forward_length", s1::gguf::Value{uint32_t(512)});
    add_all_tensors(src, w);
  });
  EXPECT_THROW(Model::load(wrong), s1::Error);
}

TEST(ModelConfig, UnsupportedWeightTypeNamesItAndTheSupportedList) {
  auto path = rewrite(model_path("qwen2-f32"), "wtype", [](const auto& src, auto& w) {
    for (const auto& t : src.tensors()) {
      if (t.name != "blk.0.attn_q.weight") {
        w.add_tensor_view(t.name, t.type, t.shape, {t.data, t.n_bytes});
        continue;
      }
      const auto& q4_1 = s1::traits(s1::DType::Q4_1);
      w.add_tensor(t.name, s1::DType::Q4_1, t.shape,
                   std::vector<uint8_t>(t.n_elements / q4_1.block_elems * q4_1.block_bytes));
    }
  });
  try {
    Model::load(path);
    FAIL() << "loaded a q4_1 weight";
  } catch (const s1::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'blk.0.attn_q.weight' has weight type q4_1"), std::string::npos) << msg;
    EXPECT_NE(msg.find("supported: f32, f16, bf16, q8_0"), std::string::npos) << msg;
  }
}

// Three sequences prefilled in one mixed batch and then decoded together give
// the logits each gets when decoded alone.
TEST(Context, BatchedDecodeMatchesDecodingEachSequenceAlone) {
  auto model = Model::load(model_path("qwen2-f32"));
  const std::vector<int> lengths = {5, 20, 33};
  const int steps = 4;

  // Alone: one context per sequence, prompt then `steps` single tokens.
  std::vector<std::vector<std::vector<float>>> alone(lengths.size());
  for (size_t s = 0; s < lengths.size(); ++s) {
    Context ctx(*model, {.n_ctx = 64, .n_threads = 2});
    const int seq = ctx.new_sequence();
    alone[s].push_back(copy(ctx.append(seq, tokens(lengths[s], int(s)))));
    for (int step = 0; step < steps; ++step) {
      const int32_t t = 10 + step * 7 + int(s);
      alone[s].push_back(copy(ctx.append(seq, std::span(&t, 1))));
    }
  }

  Context ctx(*model, {.n_ctx = 256, .n_threads = 2});
  std::vector<int> seqs;
  Batch prefill;
  for (size_t s = 0; s < lengths.size(); ++s) {
    seqs.push_back(ctx.new_sequence());
    auto prompt = tokens(lengths[s], int(s));
    for (int i = 0; i < lengths[s]; ++i) prefill.add(prompt[size_t(i)], i, seqs[s], i + 1 == lengths[s]);
  }
  auto rows = ctx.decode(prefill);
  ASSERT_EQ(rows.size(), lengths.size() * size_t(ctx.n_vocab()));
  for (size_t s = 0; s < lengths.size(); ++s)
    EXPECT_LE(rel_diff(rows.subspan(s * ctx.n_vocab(), ctx.n_vocab()), alone[s][0]), 1e-5) << "seq " << s;

  for (int step = 0; step < steps; ++step) {
    Batch batch;
    for (size_t s = 0; s < lengths.size(); ++s)
      batch.add(10 + step * 7 + int(s), ctx.length(seqs[s]), seqs[s], true);
    rows = ctx.decode(batch);
    for (size_t s = 0; s < lengths.size(); ++s)
      EXPECT_LE(rel_diff(rows.subspan(s * ctx.n_vocab(), ctx.n_vocab()), alone[s][size_t(step) + 1]), 1e-5)
          << "seq " << s << " step " << step;
  }
  for (size_t s = 0; s < lengths.size(); ++s) EXPECT_EQ(ctx.computed(seqs[s]), lengths[s] + steps);
}

// Forks share the prompt (nothing recomputed, full blocks not copied) and
// continue exactly as a fresh run of prompt + continuation does.
TEST(Context, ForkSharesThePromptAndContinuesLikeAFreshRun) {
  auto model = Model::load(model_path("qwen3-f32"));
  const auto prompt = tokens(37, 1);  // ends inside a KV block: the first append copies it
  const std::vector<int32_t> next = {11, 22, 33};

  Context ctx(*model, {.n_ctx = 256, .n_threads = 2});
  const int parent = ctx.new_sequence();
  ctx.append(parent, prompt);
  const int free_after_prompt = ctx.kv_cache().free_blocks();
  std::vector<int> seqs = {parent, ctx.fork(parent), ctx.fork(parent)};
  EXPECT_EQ(ctx.kv_cache().free_blocks(), free_after_prompt);
  Batch batch;
  for (size_t i = 0; i < seqs.size(); ++i) batch.add(next[i], int(prompt.size()), seqs[i], true);
  auto rows = copy(ctx.decode(batch));

  EXPECT_EQ(ctx.total_computed(), int64_t(prompt.size() + seqs.size()));
  EXPECT_EQ(ctx.computed(seqs[1]), 1);
  EXPECT_EQ(ctx.length(seqs[1]), int(prompt.size()) + 1);
  // The first two writers copied the shared, partly filled tail block; the last one kept it.
  EXPECT_EQ(ctx.kv_cache().free_blocks(), free_after_prompt - 2);

  for (size_t i = 0; i < seqs.size(); ++i) {
    Context fresh(*model, {.n_ctx = 64, .n_threads = 1});
    const int seq = fresh.new_sequence();
    auto all = prompt;
    all.push_back(next[i]);
    auto want = fresh.append(seq, all);
    EXPECT_LE(rel_diff(std::span(rows).subspan(i * ctx.n_vocab(), ctx.n_vocab()), want), 1e-5) << "seq " << i;
  }

  // Removing the forks returns their copied blocks.
  ctx.remove(seqs[1]);
  ctx.remove(seqs[2]);
  EXPECT_EQ(ctx.kv_cache().free_blocks(), free_after_prompt);
}

// Rolling a sequence back and decoding other tokens gives what a fresh run of
// the final tokens gives.
TEST(Context, TruncateThenAppendMatchesAFreshRun) {
  auto model = Model::load(model_path("qwen2-f32"));
  Context ctx(*model, {.n_ctx = 128});
  const int seq = ctx.new_sequence();
  ctx.append(seq, tokens(30, 4));
  ctx.truncate(seq, 18);
  EXPECT_EQ(ctx.length(seq), 18);
  const std::vector<int32_t> tail = {7, 8, 9};
  auto got = copy(ctx.append(seq, tail));
  EXPECT_EQ(ctx.computed(seq), 33);

  auto all = tokens(18, 4);
  all.insert(all.end(), tail.begin(), tail.end());
  Context fresh(*model, {.n_ctx = 128});
  EXPECT_LE(rel_diff(got, fresh.append(fresh.new_sequence(), all)), 1e-5);
}

TEST(Context, ChunkedPrefillAndF32CacheAgreeWithOneShot) {
  auto model = Model::load(model_path("llama-f32"));
  const auto prompt = tokens(50, 3);
  auto run = [&](s1::ContextParams p) {
    Context ctx(*model, p);
    const int seq = ctx.new_sequence();
    Batch b;
    for (int i = 0; i < int(prompt.size()); ++i) b.add(prompt[size_t(i)], i, seq, true);
    return copy(ctx.decode(b));
  };
  const auto one_shot = run({.n_ctx = 64});
  EXPECT_LE(rel_diff(run({.n_ctx = 64, .max_chunk = 7}), one_shot), 1e-5);
  EXPECT_LE(rel_diff(run({.n_ctx = 64, .kv_type = s1::DType::F32}), one_shot), 1e-2);
}

TEST(Context, ContextOverflowIsAnErrorThatChangesNothing) {
  auto model = Model::load(model_path("qwen2-f32"));
  Context ctx(*model, {.n_ctx = 32});
  const int seq = ctx.new_sequence();
  try {
    ctx.append(seq, tokens(40, 0));
    FAIL() << "a 40-token prompt fit a 32-token context";
  } catch (const s1::Error& e) {
    EXPECT_NE(std::string(e.what()).find("the context holds 32 tokens"), std::string::npos) << e.what();
  }
  EXPECT_EQ(ctx.length(seq), 0);
  EXPECT_EQ(ctx.total_computed(), 0);
  ctx.append(seq, tokens(32, 0));  // exactly full works
  const int32_t one = 1;
  EXPECT_THROW(ctx.append(seq, std::span(&one, 1)), s1::Error);

  // The pool is shared: a second sequence finds it full.
  Context shared(*model, {.n_ctx = 32});
  shared.append(shared.new_sequence(), tokens(20, 0));
  const int second = shared.new_sequence();
  try {
    shared.append(second, tokens(20, 1));
    FAIL() << "two 20-token sequences fit a 32-token cache";
  } catch (const s1::Error& e) {
    EXPECT_NE(std::string(e.what()).find("KV cache is full"), std::string::npos) << e.what();
  }
  EXPECT_EQ(shared.length(second), 0);
}

TEST(Context, PromptLongerThanTheTrainedLengthIsAnError) {
  auto path = rewrite(model_path("qwen2-f32"), "trained", [](const auto& src, auto& w) {
    w.set("qwen2.context_length", s1::gguf::Value{uint32_t(24)});
    add_all_tensors(src, w);
  });
  auto model = Model::load(path);
  Context ctx(*model, {.n_ctx = 128});
  try {
    ctx.append(ctx.new_sequence(), tokens(30, 0));
    FAIL() << "30 tokens fit a model trained for 24";
  } catch (const s1::Error& e) {
    EXPECT_NE(std::string(e.what()).find("trained for 24 tokens"), std::string::npos) << e.what();
  }
}

TEST(Context, InvalidBatchesAreErrors) {
  auto model = Model::load(model_path("qwen2-f32"));
  Context ctx(*model, {.n_ctx = 64, .max_sequences = 2});
  const int seq = ctx.new_sequence();
  Batch b;
  EXPECT_THROW(ctx.decode(b), s1::Error);  // empty
  b.add(1, 1, seq, true);                  // position 1 before position 0
  EXPECT_THROW(ctx.decode(b), s1::Error);
  b.clear();
  b.add(1, 0, 7, true);  // no such sequence
  EXPECT_THROW(ctx.decode(b), s1::Error);
  b.clear();
  b.add(512, 0, seq, true);  // outside the vocabulary
  EXPECT_THROW(ctx.decode(b), s1::Error);
  b.clear();
  b.add(1, 0, seq, false);
  b.add(2, 1, seq, false);
  EXPECT_TRUE(ctx.decode(b).empty());  // no logits asked for
  EXPECT_EQ(ctx.length(seq), 2);
  ctx.new_sequence();
  EXPECT_THROW(ctx.new_sequence(), s1::Error);  // max_sequences
}

// Grouped-query and multi-query attention: a model with g KV heads computes
// what the same model with every KV head copied out to n_head heads computes.
TEST(Context, GroupedAndMultiQueryAttentionMatchExpandedHeads) {
  const std::string base = model_path("llama-f32");  // 8 heads, 8 KV heads, head_dim 32
  auto src_model = Model::load(base);
  const auto& c = src_model->config();
  const int hd = c.head_dim, d = c.n_embd;
  const size_t row = size_t(d) * 4;

  for (int groups : {1, 2}) {
    // kv head g of the grouped model = kv head g of the original; in the
    // expanded model, head h gets kv head h / (n_head / groups).
    auto make = [&](bool expanded) {
      return rewrite(base, expanded ? "expanded" : "grouped",
                     [&](const s1::gguf::File& src, s1::gguf::Writer& w) {
                       if (!expanded)
                         w.set("llama.attention.head_count_kv", s1::gguf::Value{uint32_t(groups)});
                       for (const auto& t : src.tensors()) {
                         const bool kv = t.name.find("attn_k.weight") != std::string::npos ||
                                         t.name.find("attn_v.weight") != std::string::npos;
                         if (!kv) {
                           w.add_tensor_view(t.name, t.type, t.shape, {t.data, t.n_bytes});
                           continue;
                         }
                         const int heads = expanded ? c.n_head : groups;
                         std::vector<uint8_t> bytes;
                         for (int h = 0; h < heads; ++h) {
                           const int from = expanded ? h / (c.n_head / groups) : h;
                           const uint8_t* p = t.data + size_t(from) * hd * row;
                           bytes.insert(bytes.end(), p, p + size_t(hd) * row);
                         }
                         w.add_tensor(t.name, t.type, {uint64_t(d), uint64_t(heads * hd)}, std::move(bytes));
                       }
                     });
    };
    auto grouped = Model::load(make(false));
    auto expanded = Model::load(make(true));
    EXPECT_EQ(grouped->config().n_head_kv, groups);
    const auto prompt = tokens(25, groups);
    Context a(*grouped, {.n_ctx = 32}), b(*expanded, {.n_ctx = 32});
    auto la = copy(a.append(a.new_sequence(), prompt));
    auto lb = copy(b.append(b.new_sequence(), prompt));
    EXPECT_LE(rel_diff(la, lb), 1e-5) << groups << " KV heads";
  }
}

}  // namespace
