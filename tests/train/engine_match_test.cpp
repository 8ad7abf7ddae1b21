// The training forward is the engine's forward: on an F32 model its logits
// equal Context's, example by example, even when examples are packed.
#include <gtest/gtest.h>

#include <cmath>

#include "model/context.h"
#include "support/test_support.h"
#include "train/train_fixtures.h"
#include "util/thread_pool.h"

namespace {

using namespace s1;
using namespace s1::train;

// max |a - b| / max |b| over the rows.
double relative_error(std::span<const float> a, std::span<const float> b) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, double(std::abs(a[i] - b[i])));
    scale = std::max(scale, double(std::abs(b[i])));
  }
  return diff / scale;
}

void check_matches_engine(const std::string& arch) {
  Weights w = Weights::random(s1test::tiny_config(arch), 7, 0.3f);
  const auto path = s1test::temp_dir("train-engine") / (arch + ".gguf");
  gguf::Writer writer;
  w.add_to(writer, nullptr);
  writer.write(path.string());
  auto model = Model::load(path.string());

  // Two examples packed in one training batch; every position gets logits.
  const std::vector<std::vector<int32_t>> examples = {{1, 5, 9, 3, 7, 2, 11}, {4, 8, 15, 16, 23}};
  TokenBatch batch;
  for (const auto& e : examples) {
    std::vector<int32_t> with_next = e;
    with_next.push_back(0);  // the target of the last input; the loss is not looked at
    batch.add_example(with_next, std::vector<uint8_t>(with_next.size(), 1));
  }
  ThreadPool pool(2);
  Transformer trainer(w, pool);
  trainer.forward(batch);
  std::span<const float> train_logits = trainer.logits();
  const size_t v = size_t(w.config().n_vocab);

  size_t row = 0;
  for (const auto& e : examples) {
    Context ctx(*model, {.n_ctx = 64, .kv_type = DType::F32, .n_threads = 2});
    Batch b;
    const int seq = ctx.new_sequence();
    for (size_t i = 0; i < e.size(); ++i) b.add(e[i], int32_t(i), seq, true);
    std::span<const float> engine = ctx.decode(b);
    ASSERT_EQ(engine.size(), e.size() * v);
    EXPECT_LT(relative_error(train_logits.subspan(row * v, e.size() * v), engine), 1e-4) << arch;
    row += e.size();
  }
}

TEST(TrainForward, MatchesEngineQwen2) { check_matches_engine("qwen2"); }
TEST(TrainForward, MatchesEngineQwen3) { check_matches_engine("qwen3"); }
TEST(TrainForward, MatchesEngineLlama) { check_matches_engine("llama"); }

}  // namespace
