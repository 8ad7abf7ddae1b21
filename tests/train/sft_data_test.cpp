// SFT data: the loss mask covers exactly the assistant's reasoning, answer and
// end-of-turn token; the loss is the engine's cross-entropy over those tokens
// only; and prompt tokens contribute nothing to the gradient.
#include <gtest/gtest.h>

#include <cmath>

#include "model/context.h"
#include "support/test_support.h"
#include "train/sft_data.h"
#include "train/transformer.h"
#include "util/error.h"
#include "util/thread_pool.h"

namespace {

using namespace s1;
using namespace s1::train;
using nlohmann::json;

// A tiny random model made by `s1 mkmodel` (with the given vocabulary).
std::string make_model(const std::string& tag, const std::vector<std::string>& extra = {}) {
  const auto path = s1test::temp_dir("train-sft") / (tag + ".gguf");
  std::vector<std::string> args = {"mkmodel", "--arch", "qwen2", "--layers", "1", "--embd", "16", "--heads", "2",
                                   "--kv-heads", "1", "--ff", "32", "-o", path.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  auto r = s1test::run_s1(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return path.string();
}

struct Loaded {
  gguf::File file;
  Tokenizer tokenizer;
  ModelChatTemplate chat_template;
  SftFormat format;
  explicit Loaded(const std::string& path)
      : file(gguf::File::open(path)),
        tokenizer(Tokenizer::from_gguf(file)),
        chat_template(load_chat_template(file)) {
    format = {&tokenizer, &chat_template, detect_thinking_format(file, tokenizer)};
    if (!format.thinking.has_thinking()) format.thinking = think_tag_format();
  }
};

const json kConversation = json::parse(R"([
  {"role": "system", "content": "Be brief."},
  {"role": "user", "content": "What is 2+2?"},
  {"role": "assistant", "thinking": "Two and two make four.", "content": "4"},
  {"role": "user", "content": "And 3+3?"},
  {"role": "assistant", "content": "<think>\nThree doubled.\n</think>\n\n6"}
])");

std::string masked_text(const SftExample& ex, const Tokenizer& tok, bool mask) {
  std::vector<int32_t> ids;
  for (size_t i = 0; i < ex.tokens.size(); ++i)
    if (bool(ex.loss_mask[i]) == mask) ids.push_back(ex.tokens[i]);
  return tok.decode(ids, true);
}

TEST(TrainSftData, MaskCoversAssistantReasoningAnswerAndEndOfTurnQwen2Vocab) {
  Loaded m(make_model("qwen2vocab", {"--vocab-from", (s1test::shared_dir() / "tokenizer/ggml-vocab-qwen2.gguf").string()}));
  const SftExample ex = encode_conversation(kConversation, m.format, "test");
  EXPECT_EQ(masked_text(ex, m.tokenizer, true),
            "<think>\nTwo and two make four.\n</think>\n\n4<|im_end|>"
            "<think>\nThree doubled.\n</think>\n\n6<|im_end|>");
  const std::string prompt = masked_text(ex, m.tokenizer, false);
  EXPECT_NE(prompt.find("Be brief."), std::string::npos);
  EXPECT_NE(prompt.find("What is 2+2?"), std::string::npos);
  EXPECT_EQ(prompt.find("four"), std::string::npos);
  // The tokens are the whole rendered conversation, in order.
  EXPECT_EQ(m.tokenizer.decode(ex.tokens, true),
            m.chat_template.chat_template.render(json::array({kConversation[0], kConversation[1],
                                                              {{"role", "assistant"},
                                                               {"content", "<think>\nTwo and two make four.\n</think>\n\n4"}},
                                                              kConversation[3], kConversation[4]}),
                                                 false));
}

TEST(TrainSftData, ConversationWithoutAssistantIsAnError) {
  Loaded m(make_model("tiny"));
  const json no_assistant = json::parse(R"([{"role": "user", "content": "hi"}])");
  try {
    encode_conversation(no_assistant, m.format, "data.jsonl:3");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("data.jsonl:3: the conversation has no assistant turn"), std::string::npos)
        << e.what();
  }
}

// "weight": 0 makes an earlier answer context; "thinking_cut" writes the
// thinking as a budget leaves it (the close right after the last token, as
// BudgetController appends it) and does not teach the close.
TEST(TrainSftData, WeightZeroTurnsAndBudgetCutThinkingAreNotLearned) {
  Loaded m(make_model("qwen2vocab-cut", {"--vocab-from", (s1test::shared_dir() / "tokenizer/ggml-vocab-qwen2.gguf").string()}));
  const json conversation = json::parse(R"([
    {"role": "user", "content": "What is 2+2?"},
    {"role": "assistant", "content": "4", "weight": 0},
    {"role": "user", "content": "And 3+3?"},
    {"role": "assistant", "thinking": "\nThree doub", "thinking_cut": true, "content": "6"}
  ])");
  const SftExample ex = encode_conversation(conversation, m.format, "test");
  EXPECT_EQ(masked_text(ex, m.tokenizer, true), "<think>\nThree doub\n\n6<|im_end|>");
  const std::string context = masked_text(ex, m.tokenizer, false);
  EXPECT_NE(context.find("assistant\n4<|im_end|>"), std::string::npos) << context;
  EXPECT_NE(context.find("</think>"), std::string::npos) << context;
  EXPECT_NE(m.tokenizer.decode(ex.tokens, true).find("<think>\nThree doub</think>\n\n6<|im_end|>"), std::string::npos);

  for (const char* bad : {R"([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b", "weight": 0}])",
                          R"([{"role": "user", "content": "a", "weight": 1}, {"role": "assistant", "content": "b"}])",
                          R"([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b", "weight": 0.5}])",
                          R"([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b", "thinking_cut": true}])",
                          R"([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b", "thinking": "c", "thinking_cut": 1}])"})
    EXPECT_THROW(encode_conversation(json::parse(bad), m.format, "test"), Error) << bad;
}

// The training loss is the engine's cross-entropy over the masked tokens only.
TEST(TrainSftData, LossIsEngineCrossEntropyOverAssistantTokens) {
  const std::string path = make_model("tiny-loss");
  Loaded m(path);
  const SftExample ex = encode_conversation(kConversation, m.format, "test");
  TokenBatch batch;
  batch.add_example(ex.tokens, ex.loss_mask);

  Weights w = Weights::from_gguf(m.file);
  ThreadPool pool(2);
  Transformer trainer(w, pool);
  const double loss = trainer.forward(batch) / double(batch.loss_tokens());

  auto model = Model::load(path);
  Context ctx(*model, {.n_ctx = 512, .kv_type = DType::F32, .n_threads = 2});
  Batch b;
  const int seq = ctx.new_sequence();
  for (size_t i = 0; i + 1 < ex.tokens.size(); ++i) b.add(ex.tokens[i], int32_t(i), seq, true);
  std::span<const float> logits = ctx.decode(b);
  const size_t v = size_t(model->config().n_vocab);
  double sum = 0;
  int n = 0;
  for (size_t i = 0; i + 1 < ex.tokens.size(); ++i) {
    if (!ex.loss_mask[i + 1]) continue;
    const float* row = &logits[i * v];
    double max = row[0], z = 0;
    for (size_t k = 0; k < v; ++k) max = std::max(max, double(row[k]));
    for (size_t k = 0; k < v; ++k) z += std::exp(double(row[k]) - max);
    sum += std::log(z) - (double(row[ex.tokens[i + 1]]) - max);
    ++n;
  }
  EXPECT_EQ(n, batch.loss_tokens());
  EXPECT_NEAR(loss, sum / n, 1e-4 * std::abs(sum / n));
}

// Gradients are linear in the per-token losses: the gradient of the loss
// summed over all tokens minus that over the prompt tokens is the SFT
// gradient. So the prompt's share of the SFT gradient is exactly zero.
TEST(TrainSftData, PromptTokensGetZeroGradient) {
  Loaded m(make_model("tiny-grad"));
  const SftExample ex = encode_conversation(kConversation, m.format, "test");
  std::vector<uint8_t> all(ex.loss_mask.size(), 1), prompt(ex.loss_mask.size());
  for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = !ex.loss_mask[i];
  prompt[0] = 0;
  Weights w = Weights::from_gguf(m.file);
  ThreadPool pool(2);
  Transformer trainer(w, pool);
  auto grads_with = [&](const std::vector<uint8_t>& mask) {
    TokenBatch b;
    b.add_example(ex.tokens, mask);
    w.zero_grad();
    trainer.forward(b);
    trainer.backward(1.0f);
    std::vector<std::vector<float>> g;
    for (auto& t : w.tensors()) g.push_back(t->grad);
    return g;
  };
  const auto g_sft = grads_with(ex.loss_mask), g_all = grads_with(all), g_prompt = grads_with(prompt);
  for (size_t k = 0; k < g_sft.size(); ++k) {
    double scale = 0;
    for (float x : g_all[k]) scale = std::max(scale, double(std::abs(x)));
    for (size_t i = 0; i < g_sft[k].size(); ++i)
      ASSERT_NEAR(g_all[k][i] - g_prompt[k][i], g_sft[k][i], 1e-4 * scale + 1e-7) << w.tensors()[k]->name << "[" << i << "]";
  }
}

}  // namespace

namespace {

// Real templates: Qwen3 renders the reasoning of the last assistant turn
// between <think> tags (trained); DeepSeek-R1 strips it (and opens <think> in
// the generation prompt), which is an error rather than silently training on
// answers alone.
TEST(TrainSftData, RealChatTemplates) {
  Loaded m(make_model("qwen2vocab-templates",
                      {"--vocab-from", (s1test::shared_dir() / "tokenizer/ggml-vocab-qwen2.gguf").string()}));
  const json conversation = json::parse(R"([{"role": "user", "content": "2+2?"},
                                            {"role": "assistant", "thinking": "Add them.", "content": "4"}])");
  auto with_template = [&](const char* file) {
    ModelChatTemplate t{ChatTemplate(s1test::read_file(s1test::shared_dir() / "templates" / file), file), "",
                        "<|im_end|>"};
    SftFormat format = m.format;
    format.chat_template = &t;
    const SftExample ex = encode_conversation(conversation, format, file);
    return masked_text(ex, m.tokenizer, true);
  };
  EXPECT_EQ(with_template("Qwen-Qwen3-0.6B.jinja"), "<think>\nAdd them.\n</think>\n\n4<|im_end|>");
  EXPECT_EQ(with_template("Qwen-Qwen2.5-7B-Instruct.jinja"), "<think>\nAdd them.\n</think>\n\n4<|im_end|>");
  EXPECT_EQ(with_template("meta-llama-Llama-3.1-8B-Instruct.jinja"), "<think>\nAdd them.\n</think>\n\n4<|eot_id|>");
  try {
    with_template("deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("does not render assistant message 1 as a continuation"), std::string::npos) << e.what();
  }
}

}  // namespace
