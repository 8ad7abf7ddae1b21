// The learned vocabulary: BPE merges from our data, a vocab-only GGUF our
// tokenizer loads, specials that parse as single tokens, a chat template that
// renders thinking as Qwen3 does, and a model built on it runs with budget forcing.
#include <gtest/gtest.h>

#include "api/engine.h"
#include "data/tasks.h"
#include "data/vocab_builder.h"
#include "gguf/gguf.h"
#include "reasoning/thinking_format.h"
#include "support/test_support.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace {

std::vector<std::string> sample_texts(int n) {
  std::vector<std::string> texts;
  s1::data::GenerateOptions options;
  options.seed = 9;
  for (int i = 0; i < n; ++i) {
    s1::data::Task task = s1::data::generate_task(options, uint64_t(i));
    texts.push_back(task.question);
    texts.push_back(task.thinking);
    texts.push_back(task.answer_text);
  }
  return texts;
}

TEST(DataVocab, MergesAreLearnedDeterministicallyAndShortenText) {
  auto texts = sample_texts(300);
  auto merges = s1::data::learn_bpe_merges(texts, {.merges = 200, .min_count = 2});
  EXPECT_EQ(merges, s1::data::learn_bpe_merges(texts, {.merges = 200, .min_count = 2}));
  EXPECT_GT(merges.size(), 50u);
  EXPECT_LE(merges.size(), 200u);
  s1::Tokenizer bytes_only(s1::data::make_vocab({}));
  s1::Tokenizer learned(s1::data::make_vocab(merges));
  size_t byte_tokens = 0, learned_tokens = 0;
  for (const auto& text : texts) {
    byte_tokens += bytes_only.encode(text).size();
    learned_tokens += learned.encode(text).size();
    ASSERT_EQ(learned.decode(learned.encode(text)), text);
  }
  EXPECT_LT(double(learned_tokens), 0.75 * double(byte_tokens));
  // The qwen2 pre-tokenizer keeps every digit a token of its own.
  for (int32_t id : learned.encode("4738+2965=7703")) EXPECT_EQ(learned.decode(std::vector<int32_t>{id}).size(), 1u);
  EXPECT_TRUE(s1::data::learn_bpe_merges(texts, {.merges = 0}).empty());
}

TEST(DataVocab, GgufRoundTripsSpecialsAndDetectsThinking) {
  auto dir = s1test::temp_dir("data-vocab");
  auto merges = s1::data::learn_bpe_merges(sample_texts(100), {.merges = 100});
  const std::string path = (dir / "vocab.gguf").string();
  s1::data::write_vocab_gguf(s1::data::make_vocab(merges), path, "test-vocab");

  s1::gguf::File file = s1::gguf::File::open(path);
  s1::Tokenizer tok = s1::Tokenizer::from_gguf(file);
  EXPECT_EQ(tok.n_vocab(), int32_t(256 + merges.size() + 5));
  const std::string text = "Wait, let me check: 7+9+1=17, not 16, so far 703\nÜber naïve ✓ \x01\xff";
  EXPECT_EQ(tok.decode(tok.encode(text)), text);

  const std::string chat = "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n<think>\n2+2=4\n</think>";
  auto ids = tok.encode(chat, {.parse_special = true});
  for (const char* special : {"<|im_start|>", "<|im_end|>", "<think>", "</think>"}) {
    int32_t id = tok.find_token(special);
    ASSERT_GE(id, 0) << special;
    EXPECT_NE(std::find(ids.begin(), ids.end(), id), ids.end()) << special;
    EXPECT_EQ(tok.encode(special, {.parse_special = true}), std::vector<int32_t>{id});
  }
  EXPECT_EQ(tok.eos(), tok.find_token("<|im_end|>"));
  EXPECT_TRUE(tok.is_end_of_generation(tok.find_token("<|im_end|>")));
  EXPECT_EQ(tok.decode(ids, /*with_control=*/true), chat);

  s1::ThinkingFormat format = s1::detect_thinking_format(file, tok);
  EXPECT_EQ(format.name, "think");
  EXPECT_EQ(format.open, "<think>");
  EXPECT_EQ(format.close, "</think>");
}

TEST(DataVocab, ChatTemplateRendersThinkingLikeQwen3) {
  s1::ChatTemplate chat_template(s1::data::thinking_chat_template());
  nlohmann::json messages = nlohmann::json::array(
      {{{"role", "user"}, {"content", "What is 2+2?"}},
       {{"role", "assistant"}, {"thinking", "2+2=4"}, {"content", "The answer is \\boxed{4}."}}});
  EXPECT_EQ(chat_template.render(messages, false),
            "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n<think>\n2+2=4\n</think>\n\n"
            "The answer is \\boxed{4}.<|im_end|>\n");
  messages[1].erase("thinking");
  messages[1]["reasoning_content"] = "\n2+2=4\n";
  EXPECT_NE(chat_template.render(messages, false).find("<think>\n2+2=4\n</think>\n\n"), std::string::npos);
  nlohmann::json prompt = nlohmann::json::array({messages[0]});
  EXPECT_EQ(chat_template.render(prompt, true), "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(chat_template.render(prompt, true, {{"enable_thinking", false}}),
            "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
}

// The end-to-end promise: `s1 data vocab` then `s1 mkmodel --vocab-from` gives
// a model the engine runs with its template and budget forcing.
TEST(DataVocab, MkmodelOnTheVocabRunsWithBudgetForcing) {
  auto dir = s1test::temp_dir("data-vocab-model");
  s1::data::GenerateOptions options;
  std::string jsonl;
  for (uint64_t i = 0; i < 50; ++i) jsonl += s1::data::generate_task(options, i).to_json().dump() + "\n";
  s1test::write_file(dir / "tasks.jsonl", jsonl);
  const std::string vocab = (dir / "vocab.gguf").string(), model = (dir / "model.gguf").string();
  auto made = s1test::run_s1({"data", "vocab", "--data", (dir / "tasks.jsonl").string(), "--merges", "64", "-o", vocab});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  made = s1test::run_s1({"mkmodel", "--arch", "qwen3", "--layers", "1", "--embd", "32", "--heads", "2", "--kv-heads",
                         "1", "--ff", "64", "--vocab-from", vocab, "-o", model});
  ASSERT_EQ(made.exit_code, 0) << made.err;

  s1::EngineOptions engine_options;
  engine_options.model_path = model;
  engine_options.n_ctx = 256;
  engine_options.n_threads = 1;
  s1::Engine engine(engine_options);
  EXPECT_EQ(engine.thinking_format().name, "think");
  s1::GenerationRequest request = engine.chat_request(nlohmann::json::array({{{"role", "user"}, {"content", "What is 2+2?"}}}));
  request.sampling.temperature = 0;
  request.budget.think_max = 3;
  request.budget.answer_max = 4;
  request.max_tokens = 32;
  s1::GenerationResult result = engine.generator().run(std::move(request));
  ASSERT_EQ(result.samples.size(), 1u);
  EXPECT_LE(result.samples[0].thinking_tokens, 3);
  EXPECT_LE(result.samples[0].answer_tokens, 4);
}

}  // namespace
