// Every case of llama.cpp's tokenizer tests (../shared/tokenizer/*.inp/.out,
// and data/llama-vocab/: the small vocabularies of the peer's tree for the
// pre-tokenizers ../shared lacks) must come out id for id: no BOS,
// control-token text read as plain text. So
// must our own texts (data/extra.inp: German with umlauts and ß, accented
// Latin, CJK, emoji, code, numbers, whitespace runs), whose llama.cpp ids
// scripts/tokenizer-refs wrote to data/extra-VOCAB.out.
#include <gtest/gtest.h>

#include <sstream>

#include "support/test_support.h"
#include "tokenizer/tokenizer.h"

namespace {

struct Case {
  std::string text;
  std::vector<int32_t> ids;
};

// The .inp holds the texts, each followed by "\n__ggml_vocab_test__\n"; the
// .out one line of space-separated ids per text.
std::vector<Case> read_cases(const std::filesystem::path& inp_path, const std::filesystem::path& out_path) {
  std::string inp = s1test::read_file(inp_path);
  std::istringstream out(s1test::read_file(out_path));
  const std::string separator = "\n__ggml_vocab_test__\n";
  std::vector<Case> cases;
  for (size_t pos; (pos = inp.find(separator)) != std::string::npos; inp.erase(0, pos + separator.size())) {
    Case c{inp.substr(0, pos), {}};
    std::string line;
    std::getline(out, line);
    std::istringstream ids(line);
    for (int32_t id; ids >> id;) c.ids.push_back(id);
    cases.push_back(std::move(c));
  }
  return cases;
}

class Conformance : public testing::TestWithParam<std::string> {};

TEST_P(Conformance, EncodesEveryCaseLikeLlamaCpp) {
  const std::string file = "ggml-vocab-" + GetParam() + ".gguf";
  const auto copied = s1test::source_dir() / "tests" / "tokenizer" / "data" / "llama-vocab" / file;
  const auto vocab = std::filesystem::exists(copied) ? copied : s1test::shared_dir() / "tokenizer" / file;
  const auto tok = s1::Tokenizer::load(vocab.string());
  const auto cases = read_cases(vocab.string() + ".inp", vocab.string() + ".out");
  ASSERT_GE(cases.size(), 46u);  // 46 in every file, 50 in qwen35's
  const auto data = s1test::source_dir() / "tests" / "tokenizer" / "data";
  const auto extra = read_cases(data / "extra.inp", data / ("extra-" + GetParam() + ".out"));
  ASSERT_EQ(extra.size(), 15u);
  for (const auto* set : {&cases, &extra})
    for (const auto& c : *set) {
      EXPECT_EQ(tok.encode(c.text), c.ids) << "text: '" << c.text << "'";
      EXPECT_EQ(tok.decode(c.ids), c.text);
    }
}

INSTANTIATE_TEST_SUITE_P(Vocabs, Conformance,
                         testing::Values("qwen2", "qwen35", "llama-bpe", "deepseek-llm", "gpt-2", "deepseek-coder",
                                         "falcon", "refact", "starcoder"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& ch : name)
                             if (ch == '-') ch = '_';
                           return name;
                         });

}  // namespace
