// Which thinking delimiters a model gets: evidence in the template or the
// vocabulary first, the s1 models' name last (they ship Qwen2.5's template
// and vocabulary unchanged), user overrides over everything.
#include <gtest/gtest.h>

#include "gguf/gguf.h"
#include "reasoning/test_vocab.h"
#include "reasoning/thinking_format.h"
#include "support/test_support.h"

namespace s1 {
namespace {

gguf::File metadata_file(const std::string& name, const std::string& chat_template) {
  gguf::Writer w;
  w.set("general.architecture", gguf::Value{std::string("qwen2")});
  w.set("general.name", gguf::Value{name});
  if (!chat_template.empty()) w.set("tokenizer.chat_template", gguf::Value{chat_template});
  const auto path = (s1test::temp_dir("thinking-format") / "meta.gguf").string();
  w.write(path);
  return gguf::File::open(path);
}

// Bytes and ChatML markers only: no </think> token.
Tokenizer chatml_tokenizer() {
  Vocab vocab = s1test::byte_vocab();
  vocab.tokens.resize(256);
  vocab.types.resize(256);
  for (const char* special : {"<|im_end|>", "<|im_start|>"}) {
    vocab.tokens.push_back(special);
    vocab.types.push_back(int32_t(TokenType::control));
  }
  vocab.eos = vocab.eot = 256;
  return Tokenizer(vocab);
}

TEST(ThinkingFormat, ThinkTokenWinsOverAnS1LikeName) {
  Tokenizer with_think(s1test::byte_vocab());
  EXPECT_EQ(detect_thinking_format(metadata_file("s1-mini", ""), with_think).name, "think");
  EXPECT_EQ(detect_thinking_format(metadata_file("Qwen3 0.6B", ""), with_think).name, "think");
}

TEST(ThinkingFormat, S1ByTemplateOrByNameWithoutOtherEvidence) {
  Tokenizer chatml = chatml_tokenizer();
  EXPECT_EQ(detect_thinking_format(metadata_file("s1.1-32B", ""), chatml).name, "s1");
  EXPECT_EQ(detect_thinking_format(metadata_file("simplescaling s1 32B", ""), chatml).name, "s1");
  EXPECT_EQ(detect_thinking_format(metadata_file("any", "{{ '<|im_start|>think' }}"), chatml).name, "s1");
  EXPECT_EQ(detect_thinking_format(metadata_file("any", "{{ '</think>' }}"), chatml).name, "think");
  EXPECT_EQ(detect_thinking_format(metadata_file("Qwen2.5 0.5B Instruct", ""), chatml).name, "none");
  EXPECT_EQ(detect_thinking_format(metadata_file("s10k", ""), chatml).name, "none");
}

TEST(ThinkingFormat, OverridesWin) {
  Tokenizer chatml = chatml_tokenizer();
  ThinkingOverrides overrides{.open = "[[", .close = "]]", .answer_prefix = "A:"};
  const ThinkingFormat f = detect_thinking_format(metadata_file("s1-32B", ""), chatml, overrides);
  EXPECT_EQ(f.name, "custom");
  EXPECT_EQ(f.open, "[[");
  EXPECT_EQ(f.close, "]]");
  EXPECT_EQ(f.answer_prefix, "A:");
}

}  // namespace
}  // namespace s1
