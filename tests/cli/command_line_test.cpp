// The command line as llama.cpp users type it: a mistyped subcommand names
// the nearest one; llama.cpp's short flags work; a renamed flag says what it became.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace {

TEST(UnknownCommand, SuggestsTheNearest) {
  auto typo = s1test::run_s1({"quantise", "-m", "x.gguf"});
  EXPECT_EQ(typo.exit_code, 2);
  EXPECT_NE(typo.err.find("unknown command 'quantise'; did you mean 'quantize'?"), std::string::npos) << typo.err;
  auto far = s1test::run_s1({"frobnicate"});
  EXPECT_EQ(far.exit_code, 2);
  EXPECT_NE(far.err.find("unknown command 'frobnicate' (s1 --help"), std::string::npos) << far.err;
  EXPECT_EQ(s1test::run_s1({"--version"}).exit_code, 0);
}

// A count out of range says the rule in words, not CLI11's limits
// ("Value 0 not in range 0.000000 to 1797693134862315708145274237...").
TEST(NumericFlags, OutOfRangeSaysTheRule) {
  auto zero = s1test::run_s1({"bench", "--gen", "0"});
  EXPECT_NE(zero.exit_code, 0);
  EXPECT_NE(zero.err.find("--gen: must be > 0, got 0"), std::string::npos) << zero.err;
  EXPECT_EQ(zero.err.find("179769"), std::string::npos) << zero.err;
  auto negative = s1test::run_s1({"eval", "--limit", "-2"});
  EXPECT_NE(negative.exit_code, 0);
  EXPECT_NE(negative.err.find("--limit: must be >= 0, got -2"), std::string::npos) << negative.err;
}

TEST(LlamaCppSpellings, ShortFlagsAndTheRenamedSamples) {
  auto renamed = s1test::run_s1({"run", "--n", "3", "-p", "x"});
  EXPECT_NE(renamed.exit_code, 0);
  EXPECT_NE(renamed.err.find("--n: is now --samples (-n is --n-predict, as in llama.cpp)"), std::string::npos)
      << renamed.err;
  auto short_flags = s1test::run_s1({"run", "-c", "256", "-s", "7", "--samples", "2", "-n", "3", "--temp", "0", "-p", "1+1"});
  EXPECT_EQ(short_flags.exit_code, 0) << short_flags.err;
  EXPECT_NE(short_flags.out.find("--- sample 1"), std::string::npos) << short_flags.out;  // two samples
  EXPECT_NE(short_flags.out.find(" of 2)"), std::string::npos) << short_flags.out;
}

// A model with a chat template is prompted through it unless --raw (as
// llama.cpp's CLI does); the bundled model answers a question only so.
TEST(RunCommand, TheChatTemplateByDefaultRawOnRequest) {
  auto chat = s1test::run_s1({"run", "-p", "What is 23 + 45?", "--temp", "0", "--json"});
  ASSERT_EQ(chat.exit_code, 0) << chat.err;
  auto raw = s1test::run_s1({"run", "--raw", "-p", "What is 23 + 45?", "--temp", "0", "--json", "-n", "64"});
  ASSERT_EQ(raw.exit_code, 0) << raw.err;
  const auto chat_record = nlohmann::json::parse(chat.out), raw_record = nlohmann::json::parse(raw.out);
  EXPECT_EQ(chat_record["extracted_answer"], "68");
  // The templated prompt is longer than the raw text by the template's markup.
  EXPECT_GT(chat_record["prompt_tokens"].get<int>(), raw_record["prompt_tokens"].get<int>());
  EXPECT_NE(s1test::run_s1({"run", "--raw", "--chat", "-p", "x"}).exit_code, 0);
}

}  // namespace
