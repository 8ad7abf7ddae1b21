// `s1 tokenize` as a user runs it.
#include <gtest/gtest.h>

#include "support/test_support.h"

namespace {

std::string qwen2_vocab() { return (s1test::shared_dir() / "tokenizer/ggml-vocab-qwen2.gguf").string(); }

TEST(TokenizerCli, PrintsIdsAsOneJsonArray) {
  const auto r = s1test::run_s1({"tokenize", "-m", qwen2_vocab(), "--ids"}, "Hello world");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "[9707,1879]\n");
}

TEST(TokenizerCli, SpecialTextIsPlainUnlessAsked) {
  const auto plain = s1test::run_s1({"tokenize", "-m", qwen2_vocab(), "--ids"}, "<|im_end|>");
  EXPECT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_NE(plain.out, "[151645]\n");
  const auto special = s1test::run_s1({"tokenize", "-m", qwen2_vocab(), "--ids", "--parse-special"}, "<|im_end|>");
  EXPECT_EQ(special.out, "[151645]\n");
}

TEST(TokenizerCli, ListsPiecesWithControlCharactersEscaped) {
  const auto dir = s1test::temp_dir("tokenize");
  s1test::write_file(dir / "in.txt", "Hi\n\t\xE2\x9C\x85<|im_end|>");
  const auto r = s1test::run_s1(
      {"tokenize", "-m", qwen2_vocab(), "--file", (dir / "in.txt").string(), "--parse-special"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "13048\tHi\n198\t\\n\n197\t\\t\n144247\t\xE2\x9C\x85\n151645\t<|im_end|>\n");
}

TEST(TokenizerCli, EscapesPartialCharacters) {
  // U+10400 is split over three tokens; no piece alone is UTF-8.
  const auto r = s1test::run_s1({"tokenize", "-m", qwen2_vocab()}, "\xF0\x90\x90\x80");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "123934\t\\xF0\\x90\n238\t\\x90\n222\t\\x80\n");
}

TEST(TokenizerCli, ReportsMissingFilesAsErrors) {
  const auto r = s1test::run_s1({"tokenize", "-m", qwen2_vocab(), "--file", "/nonexistent/in.txt"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("/nonexistent/in.txt"), std::string::npos) << r.err;
  const auto bad_model = s1test::run_s1({"tokenize", "-m", "/nonexistent/m.gguf"}, "x");
  EXPECT_EQ(bad_model.exit_code, 1);
  EXPECT_NE(bad_model.err.find("error:"), std::string::npos) << bad_model.err;
}

}  // namespace
